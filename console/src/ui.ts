/** Pieces every view shares: notices for loading and errors, a cursor-paged list, the pager. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type Query } from './api';
import { exact, relative } from './format';
import { html, type View } from './html';
import { readList, type ListPage } from './shapes';

/** What went wrong, for a person: the server's message, its code and status. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    return err.status === 0 ? err.message : `${err.message} (${err.code}, HTTP ${err.status})`;
  }
  return `Unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

export function Loading({ what }: { what: string }): View {
  return html`<p class="notice" role="status">Loading ${what}…</p>`;
}

export function ErrorNotice({ error }: { error: string | null }): View {
  return error === null ? null : html`<p class="notice error" role="alert">${error}</p>`;
}

/** A message after an action: what happened, or what went wrong. */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export function FlashNotice({ flash }: { flash: Flash | null }): View {
  if (flash === null) return null;
  return flash.kind === 'ok'
    ? html`<p class="notice ok" role="status">${flash.text}</p>`
    : html`<p class="notice error" role="alert">${flash.text}</p>`;
}

export interface Paged {
  page: ListPage | null;
  loading: boolean;
  error: string | null;
  /** 1 for the first page. */
  pageNumber: number;
  next: () => void;
  previous: () => void;
  reload: () => void;
}

/**
 * One page of a list route at a time, paged with the server's cursor (README "HTTP API"); going back uses the
 * cursors already seen. A change of `query` (a filter) starts again at the first page.
 */
export function usePaged(api: Api, path: string, query: Query, limit: number): Paged {
  const queryKey = JSON.stringify(query);
  const [position, setPosition] = useState<{ queryKey: string; cursors: Array<string | undefined> }>({
    queryKey,
    cursors: [undefined],
  });
  const cursors = position.queryKey === queryKey ? position.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const [reloads, setReloads] = useState(0);
  const [state, setState] = useState<{ page: ListPage | null; loading: boolean; error: string | null }>({
    page: null,
    loading: true,
    error: null,
  });

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    api({ method: 'GET', path, query: { ...query, limit, cursor } }).then(
      (body) => {
        if (live) setState({ page: readList(body), loading: false, error: null });
      },
      (err: unknown) => {
        if (live) setState({ page: null, loading: false, error: errorText(err) });
      },
    );
    return () => {
      live = false;
    };
    // query is compared by its JSON (queryKey): a new object with the same filters loads nothing.
  }, [api, path, queryKey, cursor, limit, reloads]);

  return {
    ...state,
    pageNumber: cursors.length,
    next: () => {
      const next = state.page?.next_cursor;
      if (next !== undefined) setPosition({ queryKey, cursors: [...cursors, next] });
    },
    previous: () => {
      if (cursors.length > 1) setPosition({ queryKey, cursors: cursors.slice(0, -1) });
    },
    reload: () => setReloads((n) => n + 1),
  };
}

export function Pager({ paged, label }: { paged: Paged; label: string }): View {
  const total = paged.page?.total;
  return html`<nav class="pager" aria-label=${`${label} pages`}>
    <button type="button" onClick=${paged.previous} disabled=${paged.pageNumber <= 1 || paged.loading}>
      Previous
    </button>
    <span role="status">
      ${paged.loading ? 'Loading…' : `Page ${paged.pageNumber}${total === undefined ? '' : ` · ${total} in total`}`}
    </span>
    <button
      type="button"
      onClick=${paged.next}
      disabled=${paged.page?.next_cursor === undefined || paged.loading}
    >
      Next
    </button>
  </nav>`;
}

/** A time as "in 2 h" / "3 min ago", the exact local time as its tooltip. */
export function When({ iso, now }: { iso: unknown; now: number }): View {
  return html`<time datetime=${typeof iso === 'string' ? iso : ''} title=${exact(iso)}
    >${relative(iso, now)}</time
  >`;
}

/** A labelled one-line text input (the label is its accessible name). */
export function TextField(props: {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
  placeholder?: string;
  required?: boolean;
}): View {
  return html`<label>
    ${props.label}
    <input
      name=${props.name}
      value=${props.value}
      placeholder=${props.placeholder}
      required=${props.required === true}
      onInput=${(e: Event) => props.onValue((e.currentTarget as HTMLInputElement).value)}
    />
  </label>`;
}

/** Above a list: its error, "Loading" before the first page, or `empty` when a page has nothing. */
export function ListStatus({ paged, what, empty }: { paged: Paged; what: string; empty: string }): View {
  return html`<${ErrorNotice} error=${paged.error} />
    ${paged.loading && paged.page === null ? html`<${Loading} what=${what} />` : null}
    ${
      paged.page !== null && paged.page.list.length === 0 && !paged.loading
        ? html`<p class="notice">${empty}</p>`
        : null
    }`;
}

/**
 * A secret the server answers only once (a new client key, a webhook's signing secret): shown with a
 * Copy button until Done, and kept nowhere.
 */
export function ShownOnce(props: {
  /** The region's accessible name ("New client key"). */
  label: string;
  /** What it is, in bold ("Client key for app"). */
  title: string;
  /** What to do with it, after "shown only this once." */
  advice: string;
  value: string;
  testId: string;
  onDone: () => void;
}): View {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (): void => {
    navigator.clipboard.writeText(props.value).then(
      () => setCopied('Copied.'),
      () => setCopied('Copying failed: select the value and copy it by hand.'),
    );
  };
  return html`<div class="new-key" role="region" aria-label=${props.label}>
    <p><strong>${props.title}</strong>: shown only this once. ${props.advice}</p>
    <p><code class="secret" data-testid=${props.testId}>${props.value}</code></p>
    <p class="actions">
      <button type="button" onClick=${copy}>Copy</button>
      <button type="button" onClick=${props.onDone}>Done</button>
      ${copied === null ? null : html`<span role="status">${copied}</span>`}
    </p>
  </div>`;
}
