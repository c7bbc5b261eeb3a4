/**
 * Realms: GET /api/realm (what `tokenctl realm list --json` shows), filtered by keyword and paged with
 * the cursor, and the built-in presets of GET /api/preset (`tokenctl realm presets --json`).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { html, type View } from '../html';
import { isRecord, readList, text, type Json } from '../shapes';
import { ErrorNotice, errorText, ListStatus, Loading, Pager, TextField, usePaged, When } from '../ui';

const REALM_PAGE_SIZE = 25;

/** How the realm gets its tokens: from a provider URL, a custom token function, or fixed tokens. */
function kindOf(realm: Json): string {
  if (isRecord(realm.config))
    return `provider: ${text(realm.config.method) || 'GET'} ${text(realm.config.url)}`;
  if (typeof realm.logic_code === 'string') return `token function: ${realm.logic_code}`;
  return 'fixed tokens';
}

/** The engine's defaults when a realm config sets none (functions/providers/realm-config.ts). */
const DEFAULT_DAILY_BUDGET = 1000;
const DEFAULT_FLUSH_WINDOW_MS = 10_000;

/** The daily upstream-call budget and the flush window, the defaults marked as such. */
function limits(realm: Json): string {
  if (!isRecord(realm.config) && typeof realm.logic_code !== 'string') return 'no provider calls';
  const config = isRecord(realm.config) ? realm.config : {};
  const budget = config.daily_budget;
  const window = config.flush_min_interval_ms;
  return [
    typeof budget === 'number' ? `${budget} calls/day` : `${DEFAULT_DAILY_BUDGET} calls/day (default)`,
    typeof window === 'number'
      ? `flush window ${window / 1000} s`
      : `flush window ${DEFAULT_FLUSH_WINDOW_MS / 1000} s (default)`,
  ].join(', ');
}

/** A preset's keys as `key_1 appid, key_2 appsecret`, or the parent whose token it uses. */
function presetKeys(preset: Json): string {
  const keys = isRecord(preset.keys) ? Object.entries(preset.keys).map(([k, v]) => `${k} ${text(v)}`) : [];
  if (keys.length > 0) return keys.join(', ');
  return typeof preset.parent === 'string' ? `none: uses the token of a ${preset.parent} secret` : 'none';
}

function Presets({ api }: { api: Api }): View {
  const [state, setState] = useState<{ list: Json[] | null; error: string | null }>({
    list: null,
    error: null,
  });
  useEffect(() => {
    let live = true;
    api({ method: 'GET', path: '/api/preset' }).then(
      (body) => live && setState({ list: readList(body).list, error: null }),
      (err: unknown) => live && setState({ list: null, error: errorText(err) }),
    );
    return () => {
      live = false;
    };
  }, [api]);
  return html`<section aria-labelledby="presets-title">
    <h2 id="presets-title">Presets</h2>
    <p class="muted">Ready realm configs: <code>tokenctl realm create ID --preset NAME</code>.</p>
    <${ErrorNotice} error=${state.error} />
    ${state.list === null && state.error === null ? html`<${Loading} what="presets" />` : null}
    ${
      state.list === null
        ? null
        : html`<table class="rows presets">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Comment</th>
                <th scope="col">Keys</th>
              </tr>
            </thead>
            <tbody>
              ${state.list.map(
                (p) =>
                  html`<tr key=${text(p.name)}>
                    <td data-label="Name" class="nowrap">${text(p.name)}</td>
                    <td data-label="Comment">${text(p.comment)}</td>
                    <td data-label="Keys">${presetKeys(p)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

export function RealmsView({ api }: { api: Api }): View {
  const [input, setInput] = useState('');
  const [keyword, setKeyword] = useState('');
  const paged = usePaged(api, '/api/realm', { keyword }, REALM_PAGE_SIZE);
  const list = paged.page?.list ?? [];
  const now = Date.now();
  return html`<section aria-labelledby="realms-title" aria-busy=${paged.loading ? 'true' : 'false'}>
      <h2 id="realms-title">Realms</h2>
      <form
        class="filters"
        method="post"
        onSubmit=${(e: Event) => {
          e.preventDefault();
          setKeyword(input.trim());
        }}
      >
        <${TextField}
          label="Keyword"
          name="keyword"
          value=${input}
          onValue=${setInput}
          placeholder="id or comment"
        />
        <button type="submit">Filter</button>
      </form>
      <${ListStatus}
        paged=${paged}
        what="realms"
        empty=${keyword === '' ? 'No realms.' : 'No realms match this keyword.'}
      />
      ${
        list.length === 0
          ? null
          : html`<table class="rows realms">
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">Comment</th>
                  <th scope="col">Tokens from</th>
                  <th scope="col">Limits</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                ${list.map(
                  (r) =>
                    html`<tr key=${text(r.id)} data-realm=${text(r.id)}>
                      <td data-label="ID" class="nowrap">${text(r.id)}</td>
                      <td data-label="Comment" class="comment">${text(r.comment)}</td>
                      <td data-label="Tokens from" class="wrap">${kindOf(r)}</td>
                      <td data-label="Limits">${limits(r)}</td>
                      <td data-label="Updated"><${When} iso=${r.updated_at} now=${now} /></td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      ${paged.page === null ? null : html`<${Pager} paged=${paged} label="Realms" />`}
    </section>
    <${Presets} api=${api} />`;
}
