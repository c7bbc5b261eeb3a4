/**
 * Audit: GET /api/audit (what `tokenctl audit` shows), newest first, paged with the cursor and filtered
 * by action and target. Secret values appear in records only as HMACs; those are shown as they are.
 */
import { useState } from 'preact/hooks';
import { AUDIT_ACTIONS } from '../../../functions/ops/audit/action-names';
import type { Api } from '../api';
import { html, type View } from '../html';
import { text } from '../shapes';
import { ListStatus, Pager, TextField, usePaged, When } from '../ui';

const AUDIT_PAGE_SIZE = 50;

function hashesText(hashes: unknown): string {
  return Array.isArray(hashes) ? hashes.map(text).join('\n') : '';
}

export function AuditView({ api }: { api: Api }): View {
  const [actionInput, setActionInput] = useState('');
  const [targetInput, setTargetInput] = useState('');
  const [filter, setFilter] = useState<{ action?: string; target?: string }>({});
  const paged = usePaged(api, '/api/audit', filter, AUDIT_PAGE_SIZE);
  const list = paged.page?.list ?? [];
  const now = Date.now();

  const apply = (event: Event): void => {
    event.preventDefault();
    setFilter({
      ...(actionInput === '' ? {} : { action: actionInput }),
      ...(targetInput.trim() === '' ? {} : { target: targetInput.trim() }),
    });
  };

  return html`<section aria-labelledby="audit-title" aria-busy=${paged.loading ? 'true' : 'false'}>
    <h2 id="audit-title">Audit</h2>
    <form class="filters" method="post" onSubmit=${apply}>
      <label>
        Action
        <select
          name="action"
          value=${actionInput}
          onChange=${(e: Event) => setActionInput((e.currentTarget as HTMLSelectElement).value)}
        >
          <option value="">every action</option>
          ${AUDIT_ACTIONS.map((a) => html`<option value=${a}>${a}</option>`)}
        </select>
      </label>
      <${TextField}
        label="Target"
        name="target"
        value=${targetInput}
        onValue=${setTargetInput}
        placeholder="realm/key, realm, client or webhook id"
      />
      <button type="submit">Filter</button>
    </form>
    <${ListStatus}
      paged=${paged}
      what="the audit log"
      empty=${
        filter.action === undefined && filter.target === undefined
          ? 'Nothing recorded yet.'
          : 'No records match this filter.'
      }
    />
    ${
      list.length === 0
        ? null
        : html`<table class="rows audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Actor</th>
                <th scope="col">Request ID</th>
                <th scope="col">Hashes</th>
              </tr>
            </thead>
            <tbody>
              ${list.map((r) => {
                const id = text(r.id);
                return html`<tr key=${id} data-audit=${id}>
                  <td data-label="When"><${When} iso=${r.at} now=${now} /></td>
                  <td data-label="Action" class="nowrap">${text(r.action)}</td>
                  <td data-label="Target" class="wrap mono">${text(r.target)}</td>
                  <td data-label="Actor" class="nowrap">${text(r.actor)}</td>
                  <td data-label="Request ID" class="mono request-id">${text(r.request_id)}</td>
                  <td data-label="Hashes" class="wrap mono hashes">${hashesText(r.hashes)}</td>
                </tr>`;
              })}
            </tbody>
          </table>`
    }
    ${paged.page === null ? null : html`<${Pager} paged=${paged} label="Audit" />`}
  </section>`;
}
