/** The built-in provider presets (README "Realms"), admin only: each a ready realm config and the keys it uses. */
import { presetList } from '../../providers/presets';
import { ok, type Route } from '../types';

export const listPresetsRoute: Route = {
  method: 'GET',
  pattern: '/api/preset',
  auth: 'admin',
  handle: async () => {
    const list = presetList().map((p) => ({
      name: p.name,
      comment: p.comment,
      keys: p.keys,
      ...(p.parent === undefined ? {} : { parent: p.parent }),
      config: p.config,
    }));
    return ok({ list, total: list.length });
  },
};

export const presetRoutes: Route[] = [listPresetsRoute];
