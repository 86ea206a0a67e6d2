// Access to LanceDB, the embedded vector database that stores image indexes. Loaded on first use
// (it is a large native module that most commands never need), after lowering its Rust logger to
// errors: at its default level it prints a warning on stderr whenever a table is created.
import { createRequire } from 'node:module';
import type * as LanceDb from '@lancedb/lancedb';
import type * as Arrow from 'apache-arrow';

/**
 * Apache Arrow as LanceDB sees it. LanceDB is CommonJS and `require`s apache-arrow, while an ESM
 * `import` of apache-arrow loads its separate ES module build: two copies whose classes fail each
 * other's `instanceof` checks, so LanceDB rejects tables built with the imported copy. Requiring it
 * here gives the very module instance LanceDB uses.
 */
export const arrow = createRequire(import.meta.url)('apache-arrow') as typeof Arrow;

let loading: Promise<typeof LanceDb> | undefined;

/** The @lancedb/lancedb module, imported once. */
export function lancedb(): Promise<typeof LanceDb> {
  if (loading === undefined) {
    // The logger reads this variable when the native module initialises it; a user's own setting wins.
    process.env.LANCEDB_LOG ??= 'error';
    loading = import('@lancedb/lancedb');
  }
  return loading;
}

/** A string as a SQL literal for LanceDB filters (single quotes, embedded quotes doubled). */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `column IN (...)` filters for `values`, split so that no single filter grows unbounded. */
export function inFilters(column: string, values: readonly (string | number)[], perFilter = 500): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += perFilter) {
    const part = values.slice(i, i + perFilter).map((v) => (typeof v === 'number' ? String(v) : sqlString(v)));
    out.push(`${column} IN (${part.join(', ')})`);
  }
  return out;
}
