/**
 * Redaction of provider text: what a provider answers may echo any part of the request we sent it,
 * so every credential is blanked out of its code and message before they are shortened, normalised,
 * stored, logged or answered (README "What is logged": no run of 8 or more of a credential's characters, in any
 * spelling).
 *
 * What is blanked:
 * - each credential value, in every spelling the request may carry it or a provider may echo it:
 *   as it is, percent-encoded (upper- and lower-case hex), form-encoded, JSON-escaped (also with
 *   `\/` and `\uXXXX` for non-ASCII, as PHP and Python write JSON), and each HTTP Basic blob (base64
 *   of "user:password") the realm's arguments build;
 * - any run of MIN_FRAGMENT or more characters of any of those spellings, wherever it appears and
 *   whatever surrounds it (a cut-off copy, a fragment echoed alone), by matching every window of
 *   MIN_FRAGMENT characters;
 * - a spelling shorter than MIN_FRAGMENT (but at least MIN_WHOLE), wherever it appears whole.
 * Values that are public literals of the built-in presets (such as "client_credential") are not
 * credentials and are left alone.
 */
import { MAX_PROVIDER_TEXT } from './failure';
import type * as Presets from './presets';
import type { RealmConfig } from './realm-config';
import { secretParts, type SecretValues } from './template';
import { CONTROL_CHAR_RANGE } from '../validation';

/** The shortest run of a credential's characters that is never shown. */
export const MIN_FRAGMENT = 8;
/** Shorter spellings are blanked only where they appear whole, and below this not at all. */
const MIN_WHOLE = 4;
const MASK = '****';
const CONTROL_RUNS = new RegExp(`[${CONTROL_CHAR_RANGE}]+`, 'g');

export type Redact = (text: string) => string;

let publicText: string | undefined;

/** Text that is public by definition: the built-in presets (their literals are not credentials). */
function isPublicLiteral(value: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the presets on first use
  publicText ??= JSON.stringify((require('./presets') as typeof Presets).presetList());
  return publicText.includes(value);
}

function jsonEscaped(value: string): string[] {
  const plain = JSON.stringify(value).slice(1, -1);
  const unicode = (upper: boolean): string =>
    plain.replace(/[\u0080-\uffff]/g, (c) => {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upper ? hex.toUpperCase() : hex}`;
    });
  return [plain, plain.replace(/\//g, '\\/'), unicode(false), unicode(true)];
}

/** Every way `value` may be spelled on the wire or in an echo of it. */
export function spellingsOf(value: string): string[] {
  const percent = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const lowerHex = (s: string): string => s.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  const spelled = [value, percent, lowerHex(percent), form, lowerHex(form), ...jsonEscaped(value)];
  return [...new Set(spelled)];
}

/** The credential material of one secret for one realm: its values and the Basic blobs built of them. */
export function credentialMaterial(config: RealmConfig, values: SecretValues): string[] {
  const raw = Object.values(values).filter((v): v is string => typeof v === 'string');
  for (const arg of config.arguments) {
    if (typeof arg.value === 'string') raw.push(...secretParts(arg.value, values));
  }
  return [...new Set(raw)].filter((v) => v.length >= MIN_WHOLE && !isPublicLiteral(v));
}

/** A function that blanks every credential of `secrets` (in every spelling, and every fragment) out of a text. */
export function redactorOf(secrets: readonly string[]): Redact {
  const windows = new Set<string>();
  const whole: string[] = [];
  for (const spelling of new Set(secrets.flatMap(spellingsOf))) {
    if (spelling.length >= MIN_FRAGMENT) {
      for (let i = 0; i + MIN_FRAGMENT <= spelling.length; i++)
        windows.add(spelling.slice(i, i + MIN_FRAGMENT));
    } else if (spelling.length >= MIN_WHOLE) {
      whole.push(spelling);
    }
  }
  if (windows.size === 0 && whole.length === 0) return (text) => text;
  return (text) => {
    const masked = new Uint8Array(text.length);
    let any = false;
    for (let i = 0; i + MIN_FRAGMENT <= text.length; i++) {
      if (windows.has(text.slice(i, i + MIN_FRAGMENT))) {
        masked.fill(1, i, i + MIN_FRAGMENT);
        any = true;
      }
    }
    for (const value of whole) {
      for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
        masked.fill(1, at, at + value.length);
        any = true;
      }
    }
    if (!any) return text;
    let out = '';
    for (let i = 0; i < text.length; i++) {
      if (masked[i] === 0) out += text[i];
      else if (i === 0 || masked[i - 1] === 0) out += MASK;
    }
    return out;
  };
}

/** The redactor for what a provider answers to a request for this realm with these values. */
export function redactorFor(config: RealmConfig, values: SecretValues): Redact {
  return redactorOf(credentialMaterial(config, values));
}

/**
 * Provider text as we keep and show it: redacted first (raw, as the provider sent it), then control
 * characters folded into spaces, redacted again (folding can join what was apart), then cut short.
 */
export function cleanProviderText(raw: string, redact: Redact, maxLength = MAX_PROVIDER_TEXT): string {
  const clean = redact(redact(raw).replace(CONTROL_RUNS, ' ').trim());
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}
