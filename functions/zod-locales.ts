/**
 * zod loads the error messages of every language it ships (about 60 modules, `z.locales`) whenever
 * any of it is loaded, though it uses English alone unless told otherwise (`z.config(z.locales.fr())`),
 * and we never tell it otherwise. That is a measurable share of a cold start (README "Benchmarks").
 * This module, loaded by functions/index.ts before anything loads zod, puts in the module cache, in
 * place of zod's locale index, an object whose every locale is loaded on first use: the same
 * names, the same values once read. If zod's locale index is not laid out as expected (another zod
 * version), it does nothing and zod loads as it always did; the require.cache test
 * (test/unit/entries.test.ts) notices either way.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';

/** `var x = require("./fr.cjs"); Object.defineProperty(exports, "fr", ...)`, as zod 4 builds it. */
const LOCALE_EXPORT = /require\("\.\/([\w-]+)\.cjs"\);\s*Object\.defineProperty\(exports, "(\w+)"/g;

export function deferZodLocales(): void {
  let index: string;
  try {
    index = require.resolve('zod/v4/locales');
  } catch {
    return;
  }
  if (require.cache[index] !== undefined) return;
  const exported = [...readFileSync(index, 'utf8').matchAll(LOCALE_EXPORT)];
  if (exported.length === 0) return;
  const locales: Record<string, unknown> = {};
  Object.defineProperty(locales, '__esModule', { value: true });
  for (const [, file = '', name = ''] of exported) {
    Object.defineProperty(locales, name, {
      enumerable: true,
      get: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the point: on first use
        const loaded = require(join(dirname(index), `${file}.cjs`)) as {
          __esModule?: boolean;
          default?: unknown;
        };
        // What zod's index hands out: the module's default export, or the module (zod 4 sets both).
        return loaded.__esModule === true ? loaded.default : loaded;
      },
    });
  }
  const stand = new Module(index);
  stand.filename = index;
  stand.loaded = true;
  stand.exports = locales;
  require.cache[index] = stand;
}

deferZodLocales();
