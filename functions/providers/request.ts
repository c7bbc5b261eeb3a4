/**
 * Turns a realm config and a secret's values into the HTTP request for the provider. This is the one
 * place that builds an upstream URL: the engine never does.
 */
import { AppError } from '../errors';
import type { RealmConfig } from './realm-config';
import { missingKeys, renderTemplate, type SecretValues } from './template';

export interface BuiltRequest {
  url: string;
  method: 'GET' | 'POST';
  /** Header name → value; names as the realm spells them (HTTP names are case-insensitive). */
  headers: Record<string, string>;
  /** Present for POST: the encoded body (JSON, or application/x-www-form-urlencoded). */
  body?: string;
}

export const USER_AGENT = 'token-server';

/** Header values may hold visible ASCII, spaces, tabs and obs-text; never CR, LF, NUL or other controls. */
const BAD_HEADER_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;

function encodeQuery(pairs: Array<[string, string]>): string {
  return pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}

/**
 * The request for one token fetch. `url` arguments are appended to any query already in config.url;
 * `body` arguments are encoded per content_type (numbers and booleans stay typed in JSON); `header`
 * arguments are sent as headers. Missing credentials and unsendable header values are INVALID_ARGUMENT
 * errors naming the argument, never showing a value.
 */
export function buildRequest(config: RealmConfig, values: SecretValues): BuiltRequest {
  const query: Array<[string, string]> = [];
  const formBody: Array<[string, string]> = [];
  const jsonBody: Record<string, string | number | boolean> = Object.create(null) as Record<
    string,
    string | number | boolean
  >;
  const headers = new Map<string, [string, string]>();
  const setHeader = (name: string, value: string): void => {
    headers.set(name.toLowerCase(), [name, value]);
  };
  setHeader('Accept', 'application/json');
  setHeader('User-Agent', USER_AGENT);

  let hasBody = false;
  for (const arg of config.arguments) {
    let value: string | number | boolean;
    if (typeof arg.value === 'string') {
      if (arg.optional === true && missingKeys(arg.value, values).length > 0) continue;
      value = renderTemplate(arg.value, values, arg.name);
    } else {
      value = arg.value;
    }
    switch (arg.place) {
      case 'url':
        query.push([arg.name, String(value)]);
        break;
      case 'body':
        hasBody = true;
        if (config.content_type === 'json') jsonBody[arg.name] = value;
        else formBody.push([arg.name, String(value)]);
        break;
      case 'header': {
        const text = String(value);
        if (BAD_HEADER_VALUE.test(text)) {
          throw new AppError(
            'INVALID_ARGUMENT',
            `Header argument "${arg.name}" would contain a character that a header cannot carry (CR, LF or another control or non-Latin-1 character)`,
            { details: { argument: arg.name } },
          );
        }
        setHeader(arg.name, text);
        break;
      }
    }
  }

  const url = new URL(config.url);
  url.hash = '';
  if (query.length > 0) {
    const extra = encodeQuery(query);
    url.search = url.search.length > 1 ? `${url.search}&${extra}` : `?${extra}`;
  }

  const request: BuiltRequest = { url: url.toString(), method: config.method, headers: {} };
  if (config.method === 'POST' || hasBody) {
    if (config.content_type === 'json') {
      if (!headers.has('content-type')) setHeader('Content-Type', 'application/json');
      request.body = JSON.stringify(jsonBody);
    } else {
      if (!headers.has('content-type')) setHeader('Content-Type', 'application/x-www-form-urlencoded');
      request.body = new URLSearchParams(formBody).toString();
    }
  }
  for (const [name, value] of headers.values()) request.headers[name] = value;
  return request;
}
