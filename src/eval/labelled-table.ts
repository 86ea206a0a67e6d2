// A labelled image set from a CSV with a header row and more columns than filepath,label, such as
// the emoji dataset's labels.csv (filepath,caption,label,style,group), optionally restricted to the
// rows where some columns have given values (`style=openmoji`). Plain two-column files are read by
// labelled-images.ts; this complements it for richer tables.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseCsv, readLabelledImages, type LabelledImages } from './labelled-images.js';

/** A row filter: keep the rows whose `column` equals one of `values`. */
export interface RowFilter {
  column: string;
  values: string[];
}

export interface ReadLabelledTableOptions {
  /** The column with the image paths (default `filepath`). */
  pathColumn?: string;
  /** The column with the class (default `label`). */
  labelColumn?: string;
  filters?: readonly RowFilter[];
}

/**
 * The values of a filter: `v1,v2,...`, or `@FILE` for one value per line of FILE (values that
 * contain commas, long lists such as the emoji set's classes_all_styles.txt).
 */
export function parseFilterValues(spec: string, raw: string): string[] {
  let values: string[];
  if (raw.startsWith('@')) {
    const file = raw.slice(1);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`filter "${spec}": cannot read ${file} (${err instanceof Error ? err.message : String(err)})`);
    }
    values = text.split(/\r?\n/).map((v) => v.trim()).filter((v) => v !== '');
    if (values.length === 0) throw new Error(`filter "${spec}": ${file} lists no values`);
    return values;
  }
  values = raw.split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) throw new Error(`filter "${spec}": empty value`);
  return values;
}

/** Parses `column=value[,value...]` or `column=@FILE` (as given to --filter). */
export function parseRowFilter(spec: string): RowFilter {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`filter "${spec}": expected COLUMN=VALUE (or COLUMN=V1,V2 or COLUMN=@FILE)`);
  return { column: spec.slice(0, eq).trim(), values: parseFilterValues(spec, spec.slice(eq + 1)) };
}

/** Codepoint order, or numeric order when every class is an integer (as labelled-images.ts sorts). */
function sortClasses(names: string[]): string[] {
  if (names.every((n) => /^-?\d+$/.test(n))) return names.sort((a, b) => Number(a) - Number(b));
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Reads a CSV whose first row names its columns. Paths are relative to the CSV's folder; every
 * selected row must name an existing file. Errors give the file and row (line) number.
 */
export function readLabelledTable(file: string, opts: ReadLabelledTableOptions = {}): LabelledImages {
  const pathColumn = opts.pathColumn ?? 'filepath';
  const labelColumn = opts.labelColumn ?? 'label';
  let rows: { fields: string[]; line: number }[];
  try {
    rows = parseCsv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (rows.length === 0) throw new Error(`${file}: empty (expected a header row naming the ${pathColumn} and ${labelColumn} columns)`);
  const header = rows[0].fields.map((f) => f.trim());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: no column "${name}" in the header (${header.join(',')})`);
    return i;
  };
  const pi = col(pathColumn);
  const li = col(labelColumn);
  const filters = (opts.filters ?? []).map((f) => ({ index: col(f.column), values: new Set(f.values) }));
  const base = path.dirname(path.resolve(file));
  const picked: { path: string; name: string }[] = [];
  for (const { fields, line } of rows.slice(1)) {
    if (fields.length !== header.length) throw new Error(`${file} row ${line}: expected ${header.length} fields (${header.join(',')}), got ${fields.length}`);
    if (!filters.every((f) => f.values.has(fields[f.index].trim()))) continue;
    const rel = fields[pi].trim();
    const name = fields[li].trim();
    if (rel === '') throw new Error(`${file} row ${line}: empty ${pathColumn}`);
    if (name === '') throw new Error(`${file} row ${line}: empty ${labelColumn} for ${rel}`);
    const p = path.isAbsolute(rel) ? rel : path.join(base, rel);
    if (!existsSync(p)) throw new Error(`${file} row ${line}: image file not found: ${p}`);
    if (!statSync(p).isFile()) throw new Error(`${file} row ${line}: ${p} is not a file`);
    picked.push({ path: p, name });
  }
  if (picked.length === 0) {
    throw new Error(`${file}: no rows${filters.length > 0 ? ' match the filters' : ''}`);
  }
  const classes = sortClasses([...new Set(picked.map((r) => r.name))]);
  const index = new Map(classes.map((c, i) => [c, i]));
  return { classes, items: picked.map((r) => ({ path: r.path, label: index.get(r.name) as number })), source: file };
}

/**
 * A labelled set from a folder or CSV: plain ImageFolder trees and filepath,label CSVs go to
 * readLabelledImages; a CSV with a wider header, or any filter, is read as a table.
 */
export function readLabelledSource(source: string, opts: ReadLabelledTableOptions = {}): LabelledImages {
  const isFile = existsSync(source) && statSync(source).isFile();
  if (!isFile || ((opts.filters ?? []).length === 0 && opts.pathColumn === undefined && opts.labelColumn === undefined && !hasWideHeader(source))) {
    if (!isFile && (opts.filters ?? []).length > 0) throw new Error(`${source}: filters apply to CSV files, not to folders`);
    return readLabelledImages(source);
  }
  return readLabelledTable(source, opts);
}

/** Whether the CSV's first row is a header with more than two columns, one of them `filepath`. */
function hasWideHeader(file: string): boolean {
  const text = readFileSync(file, 'utf8');
  const firstLine = text.slice(0, Math.max(0, text.indexOf('\n')) || text.length);
  const rows = parseCsv(firstLine);
  if (rows.length === 0) return false;
  const fields = rows[0].fields.map((f) => f.trim().toLowerCase());
  return fields.length > 2 && fields.includes('filepath');
}
