/**
 * Secrets: GET /api/status (what `tokenctl status --json` shows), filtered by realm and state and paged
 * with the cursor; each row's budget from its realm (GET /api/realm/:id), and a Flush button that
 * POSTs /api/token with flush, the route `tokenctl token get --flush` uses (through the lease, the
 * flush window and the budget, like any other caller). Secrets of platform realms (a pushed ticket,
 * preset wechat_component) show the ticket's state and age, and Start push POSTs
 * /api/component/{realm}/{key}/start-push (asks the platform to push its ticket now).
 */
import { useEffect, useState } from 'preact/hooks';
import { apiPath, type Api } from '../api';
import { relative, span } from '../format';
import { html, type View } from '../html';
import { isRecord, text, type Json } from '../shapes';
import { errorText, FlashNotice, ListStatus, Pager, TextField, usePaged, When, type Flash } from '../ui';

export const STATUS_PAGE_SIZE = 25;
/** The engine's default when a realm config sets none (functions/providers/realm-config.ts). */
const DEFAULT_DAILY_BUDGET = 1000;
const STATES = ['ok', 'due', 'error'] as const;

/** A realm's daily budget: its config's, the default for fetched realms, none for fixed tokens. */
function budgetOf(realm: unknown): number | null {
  if (!isRecord(realm)) return null;
  if (isRecord(realm.config)) {
    const budget = realm.config.daily_budget;
    return typeof budget === 'number' ? budget : DEFAULT_DAILY_BUDGET;
  }
  return typeof realm.logic_code === 'string' ? DEFAULT_DAILY_BUDGET : null;
}

/** The last error: our code, the provider's code and message, and the hint for it (IP doctor). */
function LastError({ entry, now }: { entry: Json; now: number }): View {
  const e = entry.last_error;
  if (!isRecord(e)) return html`<span class="muted">none</span>`;
  const codes = [
    text(e.code),
    e.provider_code === undefined ? '' : `provider code ${text(e.provider_code)}`,
    e.http_status === undefined ? '' : `HTTP ${text(e.http_status)}`,
    e.permanent === true ? 'permanent' : '',
  ].filter((s) => s !== '');
  const message = text(e.provider_message ?? e.message);
  const until = entry.blocked_until ?? entry.backoff_until;
  // `fix`: what to do about an IP allow-list error (/api/status); `hint`: a realm's hint for a code.
  const hint = [e.fix, e.hint].find((h): h is string => typeof h === 'string');
  return html`<div class="last-error">
    <div class="codes">${codes.join(' · ')}</div>
    ${message === '' ? null : html`<div class="message">${message}</div>`}
    ${typeof e.caller_ip === 'string' ? html`<div class="muted">caller IP ${e.caller_ip}</div>` : null}
    ${hint === undefined ? null : html`<div class="hint">${hint}</div>`}
    <div class="muted">
      <${When} iso=${e.at} now=${now} />${
        typeof until === 'string' ? html`; no provider call <${When} iso=${until} now=${now} />` : null
      }
    </div>
  </div>`;
}

/**
 * The quota check (README "When another system fetches your token"): the provider counted more token fetches than the broker made, so
 * something else fetches tokens with the same credentials (and kills the broker's).
 */
function ForeignUse({ use }: { use: unknown }): View {
  if (!isRecord(use)) return null;
  return html`<div class="foreign-use">
    Fetched elsewhere too: the provider counted ${text(use.wechat_used)} on ${text(use.day)}, the broker
    ${text(use.broker_calls)}
  </div>`;
}

/** What each pushed-ticket state means, for the badge's tooltip (README "Third-party platforms"). */
const TICKET_MEANING: Record<string, string> = {
  ok: 'a recent ticket push',
  stale: 'no push for 25 minutes: check the event URL, or Start push',
  expired: 'older than 12 hours: tokens fail until a push',
  missing: 'no ticket pushed yet',
};

/** A platform secret's pushed ticket (component_verify_ticket): its state and age. */
function TicketState({ entry }: { entry: Json }): View {
  const state = entry.ticket_state;
  if (typeof state !== 'string') return null;
  const age = entry.ticket_age_ms;
  const badge = state === 'ok' ? 'ok' : state === 'stale' ? 'due' : 'error';
  return html`<div class="ticket" title=${TICKET_MEANING[state] ?? ''}>
    ticket <span class=${`badge state-${badge}`}>${state}</span>${
      typeof age === 'number' ? html` <span class="muted">${span(age)} old</span>` : null
    }
  </div>`;
}

function Calls({ entry, budget }: { entry: Json; budget: number | null | undefined }): View {
  const calls = text(entry.calls_today ?? 0);
  if (budget === null) return html`<span>${calls}</span>`;
  return html`<span>${calls} / ${budget === undefined ? '…' : String(budget)}</span>`;
}

function StatusRow({
  entry,
  now,
  budget,
  flushing,
  onFlush,
  pushing,
  onStartPush,
}: {
  entry: Json;
  now: number;
  budget: number | null | undefined;
  flushing: boolean;
  onFlush: (realm: string, key: string) => void;
  pushing: boolean;
  onStartPush: (realm: string, key: string) => void;
}): View {
  const realm = text(entry.realm);
  const key = text(entry.key);
  const state = text(entry.state);
  return html`<tr data-realm=${realm} data-key=${key}>
    <td data-label="Realm" class="nowrap">${realm}</td>
    <td data-label="Key" class="nowrap">${key}</td>
    <td data-label="State">
      <span class=${`badge state-${state}`}>${state}</span>${
        entry.refreshing === true ? html` <span class="muted">refreshing</span>` : null
      }
      <${TicketState} entry=${entry} />
      <${ForeignUse} use=${entry.foreign_use} />
    </td>
    <td data-label="Expires"><${When} iso=${entry.expires_at} now=${now} /></td>
    <td data-label="Refresh at"><${When} iso=${entry.refresh_at} now=${now} /></td>
    <td data-label="Last refresh"><${When} iso=${entry.last_refresh_at} now=${now} /></td>
    <td data-label="Last error"><${LastError} entry=${entry} now=${now} /></td>
    <td data-label="Calls today"><${Calls} entry=${entry} budget=${budget} /></td>
    <td data-label="Actions">
      <button
        type="button"
        title=${`Flush ${realm}/${key}`}
        disabled=${flushing}
        onClick=${() => onFlush(realm, key)}
      >
        Flush
      </button>
      ${
        typeof entry.ticket_state === 'string'
          ? html`<button
              type="button"
              title=${`Ask the platform to push ${realm}/${key}'s ticket now`}
              disabled=${pushing}
              onClick=${() => onStartPush(realm, key)}
            >
              Start push
            </button>`
          : null
      }
    </td>
  </tr>`;
}

/** Why this instance is not ready (a key it cannot read), as /api/status tells admins. */
function Problems({ problems }: { problems: unknown }): View {
  if (!isRecord(problems)) return null;
  return html`<div class="notice error" role="alert">
    ${Object.entries(problems).map(([name, problem]) => html`<p>${name}: ${text(problem)}</p>`)}
  </div>`;
}

/** What a flush answered, in words (the token itself is never shown). */
function flushOutcome(realm: string, key: string, body: unknown, now: number): string {
  const source = isRecord(body) ? text(body.source) : '';
  const expires = isRecord(body) ? relative(body.expires_at, now) : '—';
  if (source === 'upstream')
    return `Flushed ${realm}/${key}: a new token from the provider, expires ${expires}.`;
  return `${realm}/${key} was fetched moments ago (inside its flush window): that token was kept, no provider call (expires ${expires}).`;
}

export function SecretsView({ api }: { api: Api }): View {
  const [realmInput, setRealmInput] = useState('');
  const [stateInput, setStateInput] = useState('');
  const [filter, setFilter] = useState<{ realm?: string; state?: string }>({});
  const paged = usePaged(api, '/api/status', filter, STATUS_PAGE_SIZE);
  const [budgets, setBudgets] = useState<ReadonlyMap<string, number | null>>(new Map());
  const [flash, setFlash] = useState<Flash | null>(null);
  const [flushing, setFlushing] = useState<string | null>(null);
  const [pushing, setPushing] = useState<string | null>(null);
  const now = Date.now();

  // The budget of each realm on this page, read once per realm while the view is open.
  const list = paged.page?.list ?? [];
  const missing = [...new Set(list.map((e) => text(e.realm)))].filter((r) => !budgets.has(r));
  const missingKey = missing.join('\n');
  useEffect(() => {
    if (missing.length === 0) return;
    let live = true;
    void Promise.all(
      missing.map((realm) =>
        api({ method: 'GET', path: apiPath('realm', realm) }).then(budgetOf, () => null),
      ),
    ).then((found) => {
      if (!live) return;
      setBudgets((b) => {
        const next = new Map(b);
        missing.forEach((realm, i) => next.set(realm, found[i] ?? null));
        return next;
      });
    });
    return () => {
      live = false;
    };
  }, [api, missingKey]);

  const flush = (realm: string, key: string): void => {
    setFlushing(`${realm}/${key}`);
    setFlash(null);
    api({ method: 'POST', path: '/api/token', body: { realm, key, flush: true } }).then(
      (body) => {
        setFlash({ kind: 'ok', text: flushOutcome(realm, key, body, Date.now()) });
        setFlushing(null);
        paged.reload();
      },
      (err: unknown) => {
        setFlash({ kind: 'error', text: `Flush of ${realm}/${key} failed: ${errorText(err)}` });
        setFlushing(null);
        paged.reload();
      },
    );
  };

  const startPush = (realm: string, key: string): void => {
    setPushing(`${realm}/${key}`);
    setFlash(null);
    api({ method: 'POST', path: `${apiPath('component', realm, key)}/start-push` }).then(
      (body) => {
        const outcome = isRecord(body) ? text(body.start_push) : '';
        setFlash({
          kind: 'ok',
          text:
            outcome === 'recently_sent'
              ? `${realm}/${key}: a push was asked for moments ago; the platform pushes within 10 minutes.`
              : `${realm}/${key}: the platform was asked to push its ticket (it arrives at the event URL).`,
        });
        setPushing(null);
        paged.reload();
      },
      (err: unknown) => {
        setFlash({ kind: 'error', text: `Start push for ${realm}/${key} failed: ${errorText(err)}` });
        setPushing(null);
      },
    );
  };

  const apply = (event: Event): void => {
    event.preventDefault();
    setFilter({
      ...(realmInput.trim() === '' ? {} : { realm: realmInput.trim() }),
      ...(stateInput === '' ? {} : { state: stateInput }),
    });
  };

  return html`<section aria-labelledby="secrets-title" aria-busy=${paged.loading ? 'true' : 'false'}>
    <h2 id="secrets-title">Secrets</h2>
    <form class="filters" method="post" onSubmit=${apply}>
      <${TextField}
        label="Realm"
        name="realm"
        value=${realmInput}
        onValue=${setRealmInput}
        placeholder="every realm"
      />
      <label>
        State
        <select
          name="state"
          value=${stateInput}
          onChange=${(e: Event) => setStateInput((e.currentTarget as HTMLSelectElement).value)}
        >
          <option value="">every state</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
    <${Problems} problems=${paged.page?.data.problems} />
    <${FlashNotice} flash=${flash} />
    <${ListStatus}
      paged=${paged}
      what="secrets"
      empty=${
        filter.realm === undefined && filter.state === undefined
          ? 'No secrets.'
          : 'No secrets match this filter.'
      }
    />
    ${
      list.length === 0
        ? null
        : html`<table class="rows secrets">
            <thead>
              <tr>
                <th scope="col">Realm</th>
                <th scope="col">Key</th>
                <th scope="col">State</th>
                <th scope="col">Expires</th>
                <th scope="col">Refresh at</th>
                <th scope="col">Last refresh</th>
                <th scope="col">Last error</th>
                <th scope="col">Calls today</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${list.map(
                (entry) =>
                  html`<${StatusRow}
                    key=${`${text(entry.realm)}/${text(entry.key)}`}
                    entry=${entry}
                    now=${now}
                    budget=${budgets.get(text(entry.realm))}
                    flushing=${flushing === `${text(entry.realm)}/${text(entry.key)}`}
                    onFlush=${flush}
                    pushing=${pushing === `${text(entry.realm)}/${text(entry.key)}`}
                    onStartPush=${startPush}
                  />`,
              )}
            </tbody>
          </table>`
    }
    ${paged.page === null ? null : html`<${Pager} paged=${paged} label="Secrets" />`}
  </section>`;
}
