/**
 * Webhooks: GET /api/webhook (`tokenctl webhook list`), POST /api/webhook to create one (its signing
 * secret is shown this once, with a copy button, and kept nowhere in the page) and DELETE
 * /api/webhook/:id to delete one.
 */
import { useState } from 'preact/hooks';
import { WEBHOOK_EVENTS } from '../../../functions/ops/webhooks/event-names';
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

const WEBHOOK_PAGE_SIZE = 25;

function eventsText(events: unknown): string {
  return Array.isArray(events) ? events.map(text).join(', ') : '';
}

function CreateWebhook({ api, onCreated }: { api: Api; onCreated: (webhook: Json) => void }): View {
  const [url, setUrl] = useState('');
  const [comment, setComment] = useState('');
  const [events, setEvents] = useState<ReadonlySet<string>>(
    new Set(['token.refresh_failed', 'token.recovered']),
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (event: string, on: boolean): void => {
    setEvents((current) => {
      const next = new Set(current);
      if (on) next.add(event);
      else next.delete(event);
      return next;
    });
  };
  const submit = (e: Event): void => {
    e.preventDefault();
    if (events.size === 0) {
      setError('Events: choose at least one.');
      return;
    }
    setBusy(true);
    setError(null);
    const body = {
      url: url.trim(),
      events: WEBHOOK_EVENTS.filter((ev) => events.has(ev)),
      ...(comment.trim() === '' ? {} : { comment: comment.trim() }),
    };
    api({ method: 'POST', path: '/api/webhook', body }).then(
      (answer) => {
        setBusy(false);
        if (!isRecord(answer) || typeof answer.secret !== 'string') {
          setError('The server answered without a signing secret.');
          return;
        }
        setUrl('');
        setComment('');
        onCreated(answer);
      },
      (err: unknown) => {
        setBusy(false);
        setError(`Creating the webhook failed: ${errorText(err)}`);
      },
    );
  };
  return html`<form class="create" method="post" onSubmit=${submit} aria-labelledby="create-webhook-title">
    <h3 id="create-webhook-title">New webhook</h3>
    <${TextField}
      label="URL"
      name="url"
      required
      value=${url}
      onValue=${setUrl}
      placeholder="https://ops.example.com/hooks/token"
    />
    <fieldset class="events">
      <legend>Events</legend>
      ${WEBHOOK_EVENTS.map(
        (ev) =>
          html`<label class="check">
            <input
              type="checkbox"
              name="events"
              value=${ev}
              checked=${events.has(ev)}
              onChange=${(e: Event) => toggle(ev, (e.currentTarget as HTMLInputElement).checked)}
            />
            ${ev}
          </label>`,
      )}
    </fieldset>
    <${TextField}
      label="Comment"
      name="comment"
      value=${comment}
      onValue=${setComment}
      placeholder="optional"
    />
    <${ErrorNotice} error=${error} />
    <button type="submit" disabled=${busy}>Create</button>
  </form>`;
}

export function WebhooksView({ api }: { api: Api }): View {
  const paged = usePaged(api, '/api/webhook', {}, WEBHOOK_PAGE_SIZE);
  const [created, setCreated] = useState<Json | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);
  const list = paged.page?.list ?? [];
  const now = Date.now();

  const remove = (id: string, url: string): void => {
    setConfirming(null);
    api({ method: 'DELETE', path: apiPath('webhook', id) }).then(
      () => {
        setFlash({ kind: 'ok', text: `Deleted the webhook to ${url}: no more deliveries to it.` });
        paged.reload();
      },
      (err: unknown) => setFlash({ kind: 'error', text: `Deleting ${id} failed: ${errorText(err)}` }),
    );
  };

  return html`<section aria-labelledby="webhooks-title" aria-busy=${paged.loading ? 'true' : 'false'}>
    <h2 id="webhooks-title">Webhooks</h2>
    ${
      created === null
        ? null
        : html`<${ShownOnce}
            label="New webhook signing secret"
            title=${`Signing secret for ${text(created.url)}`}
            advice="Copy it now into the receiver: it verifies Token-Server-Signature with it."
            value=${text(created.secret)}
            testId="webhook-secret"
            onDone=${() => setCreated(null)}
          />`
    }
    <${CreateWebhook}
      api=${api}
      onCreated=${(w: Json) => {
        setFlash(null);
        setCreated(w);
        paged.reload();
      }}
    />
    <${FlashNotice} flash=${flash} />
    <${ListStatus} paged=${paged} what="webhooks" empty="No webhooks yet." />
    ${
      list.length === 0
        ? null
        : html`<table class="rows webhooks">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Comment</th>
                <th scope="col">Created</th>
                <th scope="col">ID</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${list.map((w) => {
                const id = text(w.id);
                const url = text(w.url);
                return html`<tr key=${id} data-webhook=${id}>
                  <td data-label="URL" class="wrap mono">${url}</td>
                  <td data-label="Events" class="wrap">${eventsText(w.events)}</td>
                  <td data-label="Comment" class="comment">${text(w.comment)}</td>
                  <td data-label="Created"><${When} iso=${w.created_at} now=${now} /></td>
                  <td data-label="ID" class="mono">${id}</td>
                  <td data-label="Actions">
                    ${
                      confirming === id
                        ? html`<button type="button" class="danger" onClick=${() => remove(id, url)}>
                              Confirm delete
                            </button>
                            <button type="button" onClick=${() => setConfirming(null)}>Cancel</button>`
                        : html`<button type="button" onClick=${() => setConfirming(id)}>Delete</button>`
                    }
                  </td>
                </tr>`;
              })}
            </tbody>
          </table>`
    }
    ${paged.page === null ? null : html`<${Pager} paged=${paged} label="Webhooks" />`}
  </section>`;
}
