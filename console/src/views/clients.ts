/**
 * Clients: GET /api/client (`tokenctl client list --json`), POST /api/client to create one (its key is
 * shown this once, with a copy button, and kept nowhere) and DELETE /api/client/:id to revoke one.
 */
import { useState } from 'preact/hooks';
import { apiPath, type Api } from '../api';
import { html, type View } from '../html';
import { isRecord, text, type Json } from '../shapes';
import {
  ErrorNotice,
  errorText,
  FlashNotice,
  ListStatus,
  Pager,
  ShownOnce,
  TextField,
  usePaged,
  When,
  type Flash,
} from '../ui';

const CLIENT_PAGE_SIZE = 25;

interface Scope {
  realm: string;
  key: string;
}

/** `realm/key` entries separated by spaces, commas or new lines; an error names the first bad one. */
export function parseScopes(input: string): Scope[] | string {
  const items = input.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0) return 'Scopes: give at least one realm/key (key * for every key of a realm).';
  const scopes: Scope[] = [];
  for (const item of items) {
    const slash = item.indexOf('/');
    if (slash <= 0 || slash === item.length - 1 || item.indexOf('/', slash + 1) >= 0) {
      return `Scopes: "${item}" is not realm/key.`;
    }
    scopes.push({ realm: item.slice(0, slash), key: item.slice(slash + 1) });
  }
  return scopes;
}

function scopesText(scopes: unknown): string {
  if (!Array.isArray(scopes)) return '';
  return scopes
    .filter(isRecord)
    .map((s) => `${text(s.realm)}/${text(s.key)}`)
    .join(', ');
}

/** The new client's key, shown once: copy it, then dismiss it for good. */
function NewKey({ created, onDone }: { created: Json; onDone: () => void }): View {
  return html`<${ShownOnce}
    label="New client key"
    title=${`Client key for ${text(created.name)}`}
    advice="Copy it now and give it to the app; the server keeps only its hash."
    value=${text(created.client_key)}
    testId="client-key"
    onDone=${onDone}
  />`;
}

function CreateClient({ api, onCreated }: { api: Api; onCreated: (client: Json) => void }): View {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event): void => {
    event.preventDefault();
    const parsed = parseScopes(scopes);
    if (typeof parsed === 'string') {
      setError(parsed);
      return;
    }
    setBusy(true);
    setError(null);
    api({ method: 'POST', path: '/api/client', body: { name: name.trim(), scopes: parsed } }).then(
      (body) => {
        setBusy(false);
        if (!isRecord(body) || typeof body.client_key !== 'string') {
          setError('The server answered without a client key.');
          return;
        }
        setName('');
        setScopes('');
        onCreated(body);
      },
      (err: unknown) => {
        setBusy(false);
        setError(`Creating the client failed: ${errorText(err)}`);
      },
    );
  };
  return html`<form class="create" method="post" onSubmit=${submit} aria-labelledby="create-title">
    <h3 id="create-title">New client</h3>
    <${TextField} label="Name" name="name" required value=${name} onValue=${setName} />
    <label>
      Scopes
      <textarea
        name="scopes"
        rows="2"
        placeholder="wxgzh/main wecom/*"
        aria-describedby="scopes-help"
        value=${scopes}
        onInput=${(e: Event) => setScopes((e.currentTarget as HTMLTextAreaElement).value)}
      ></textarea>
    </label>
    <p id="scopes-help" class="muted">
      realm/key, several separated by spaces or lines; key * for every key.
    </p>
    <${ErrorNotice} error=${error} />
    <button type="submit" disabled=${busy}>Create</button>
  </form>`;
}

export function ClientsView({ api }: { api: Api }): View {
  const paged = usePaged(api, '/api/client', {}, CLIENT_PAGE_SIZE);
  const [created, setCreated] = useState<Json | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);
  const list = paged.page?.list ?? [];
  const now = Date.now();

  const revoke = (id: string, name: string): void => {
    setConfirming(null);
    api({ method: 'DELETE', path: apiPath('client', id) }).then(
      () => {
        setFlash({ kind: 'ok', text: `Revoked ${name}: its key stops working within 60 s everywhere.` });
        paged.reload();
      },
      (err: unknown) => setFlash({ kind: 'error', text: `Revoking ${name} failed: ${errorText(err)}` }),
    );
  };

  return html`<section aria-labelledby="clients-title" aria-busy=${paged.loading ? 'true' : 'false'}>
    <h2 id="clients-title">Clients</h2>
    ${created === null ? null : html`<${NewKey} created=${created} onDone=${() => setCreated(null)} />`}
    <${CreateClient}
      api=${api}
      onCreated=${(c: Json) => {
        setFlash(null);
        setCreated(c);
        paged.reload();
      }}
    />
    <${FlashNotice} flash=${flash} />
    <${ListStatus} paged=${paged} what="clients" empty="No clients yet." />
    ${
      list.length === 0
        ? null
        : html`<table class="rows clients">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${list.map((c) => {
                const id = text(c.id);
                const name = text(c.name);
                return html`<tr key=${id} data-client=${id}>
                  <td data-label="Name">${name}</td>
                  <td data-label="ID" class="mono">${id}</td>
                  <td data-label="Scopes" class="wrap">${scopesText(c.scopes)}</td>
                  <td data-label="Created"><${When} iso=${c.created_at} now=${now} /></td>
                  <td data-label="Actions">
                    ${
                      confirming === id
                        ? html`<button type="button" class="danger" onClick=${() => revoke(id, name)}>
                              Confirm revoke
                            </button>
                            <button type="button" onClick=${() => setConfirming(null)}>Cancel</button>`
                        : html`<button type="button" onClick=${() => setConfirming(id)}>Revoke</button>`
                    }
                  </td>
                </tr>`;
              })}
            </tbody>
          </table>`
    }
    ${paged.page === null ? null : html`<${Pager} paged=${paged} label="Clients" />`}
  </section>`;
}
