/**
 * The admin key lives in this tab's session storage only: never in a URL, a cookie or local storage,
 * and gone when the tab is closed.
 */
const KEY_NAME = 'token-server.admin-key';

export function storedKey(): string | null {
  const key = sessionStorage.getItem(KEY_NAME);
  return key === null || key === '' ? null : key;
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_NAME);
}
