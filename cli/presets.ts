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
  config: Record<string, unknown>;
}

function presetOf(name: string, entry: unknown): Preset | undefined {
  if (!isRecord(entry)) return undefined;
  if (isRecord(entry.config)) return { name, comment: asText(entry.comment), config: entry.config };
  if (entry.url !== undefined) return { name, comment: '', config: entry };
  return undefined;
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
