/**
 * The console's shell: asks for the admin key (kept in session storage only), shows one view at a time
 * by the location hash, and turns a 401 from any call into the key form again with a clear message.
 */
import { useEffect, useErrorBoundary, useMemo, useState } from 'preact/hooks';
import { ApiError, createApi, type Api } from './api';
import { html, type View } from './html';
import { forgetKey, storedKey, storeKey } from './session';
import { VIEWS, type ViewEntry } from './views';

function viewOf(hash: string): ViewEntry {
  const id = hash.replace(/^#/, '');
  return VIEWS.find((v) => v.id === id) ?? (VIEWS[0] as ViewEntry);
}

/** A view that fails while rendering says so instead of leaving the page blank. */
function Guarded({ entry, api }: { entry: ViewEntry; api: Api }): View {
  const [error, reset] = useErrorBoundary() as [unknown, () => void];
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : 'an unexpected error';
    return html`<div class="notice error" role="alert">
      <p>The ${entry.label} view failed: ${message}</p>
      <button type="button" onClick=${reset}>Try again</button>
    </div>`;
  }
  return html`<${entry.component} api=${api} />`;
}

function KeyForm({ message, onKey }: { message: string | null; onKey: (key: string) => void }): View {
  const [value, setValue] = useState('');
  return html`<main class="sign-in">
    <h1>token-server console</h1>
    <form
      method="post"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        if (value.trim() !== '') onKey(value.trim());
      }}
    >
      <label for="admin-key">Admin key</label>
      <input
        id="admin-key"
        type="password"
        autocomplete="off"
        spellcheck="false"
        required
        value=${value}
        onInput=${(e: Event) => setValue((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit">Open the console</button>
      ${message === null ? null : html`<p class="notice error" role="alert">${message}</p>`}
      <p class="muted">
        The key (TOKEN_SERVER_ADMIN_KEY) stays in this tab's session storage until you sign out or close the
        tab.
      </p>
    </form>
  </main>`;
}

export function App(): View {
  const [key, setKey] = useState<string | null>(storedKey);
  const [message, setMessage] = useState<string | null>(null);
  const [hash, setHash] = useState(location.hash);

  useEffect(() => {
    const onHash = (): void => setHash(location.hash);
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const signOut = (why: string | null): void => {
    forgetKey();
    setKey(null);
    setMessage(why);
  };

  const api = useMemo<Api | null>(() => {
    if (key === null) return null;
    const call = createApi(key);
    return async (request) => {
      try {
        return await call(request);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          signOut(`The server refused this admin key (HTTP 401: ${err.message}). Enter the admin key again.`);
        }
        throw err;
      }
    };
  }, [key]);

  if (api === null) {
    return html`<${KeyForm}
      message=${message}
      onKey=${(k: string) => {
        storeKey(k);
        setMessage(null);
        setKey(k);
      }}
    />`;
  }
  const current = viewOf(hash);
  return html`<div class="shell">
    <header>
      <span class="brand">token-server</span>
      <nav aria-label="Views">
        ${VIEWS.map(
          (v) =>
            html`<a href=${`#${v.id}`} aria-current=${v === current ? 'page' : undefined}>${v.label}</a>`,
        )}
      </nav>
      <button type="button" class="sign-out" onClick=${() => signOut(null)}>Sign out</button>
    </header>
    <main><${Guarded} key=${current.id} entry=${current} api=${api} /></main>
  </div>`;
}
