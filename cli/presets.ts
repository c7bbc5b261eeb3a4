/**
 * The server's built-in presets (GET /api/preset), read tolerantly: a list of {name, comment, config}
 * (wrapped in {"data": {"list": [...]}} or not), or an object mapping name → {comment, config} (or
 * name → config).
 */
import type { ApiClient } from './api';
import { apiPath } from './api';
import { asText, isRecord, unexpectedShape, unwrapData } from './shapes';

export interface Preset {
  name: string;
  comment: string;
  /** What each credential is: key_1 → "appid" (empty when the server does not say). */
  keys: Record<string, string>;
  config: Record<string, unknown>;
}

function keysOf(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asText(v)]));
}

function presetOf(name: string, entry: unknown): Preset | undefined {
  if (!isRecord(entry)) return undefined;
  if (isRecord(entry.config)) {
    return { name, comment: asText(entry.comment), keys: keysOf(entry.keys), config: entry.config };
  }
  if (entry.url !== undefined) return { name, comment: '', keys: {}, config: entry };
  return undefined;
}

/** `key_1=appid key_2=appsecret` */
export function formatPresetKeys(preset: Preset): string {
  return Object.entries(preset.keys)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function readPresets(body: unknown): Preset[] {
  const data = unwrapData(body);
  const list = isRecord(data) && Array.isArray(data.list) ? data.list : data;
  const presets: Array<Preset | undefined> = Array.isArray(list)
    ? list.map((e) => (isRecord(e) ? presetOf(asText(e.name ?? e.id), e) : undefined))
    : isRecord(list)
      ? Object.entries(list).map(([name, e]) => presetOf(name, e))
      : [undefined];
  if (presets.some((p) => p === undefined || p.name === '')) throw unexpectedShape('a list of presets');
  return presets as Preset[];
}

export async function fetchPresets(api: ApiClient): Promise<Preset[]> {
  return readPresets(await api.get(apiPath('preset')));
}
