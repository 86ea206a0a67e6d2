// Caption tables: CSV (RFC 4180, header row), TSV (header row, tab-separated, no quoting) or JSONL
// (one object per line), each row naming an image file and its caption. Extra columns are allowed
// (the emoji set's labels.csv has label, style and group) and can be used by filters. Relative
// image paths are resolved against the table's folder. Image files are not checked here: a missing
// or corrupt image is skipped and counted when it is loaded, so that listing a large set stays fast.
// In JSONL the caption field may be an array of strings: several captions of one image, of which
// training draws one per epoch (see captionFor).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../eval/labelled-images.js';
import { filterMatches, type PairSample, type SampleFilter } from './pair-dataset.js';

export interface CaptionTableOptions {
  /** Column (or JSON key) of the image path. Default `filepath`. */
  imageColumn?: string;
  /** Column (or JSON key) of the caption. Default `caption`. */
  captionColumn?: string;
  filters?: readonly SampleFilter[];
}

export type TableFormat = 'csv' | 'tsv' | 'jsonl';

/** The format of a table from its extension (.csv, .tsv/.tab, .jsonl/.ndjson). */
export function tableFormat(file: string): TableFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return undefined;
}

interface Row {
  line: number;
  get(column: string): string | undefined;
  /** A JSONL field holding an array of strings (several captions of one image), else undefined. */
  list?(column: string): unknown[] | undefined;
}

function tableRows(file: string, text: string, format: TableFormat): { rows: Row[]; columns: string[] | undefined } {
  if (format === 'jsonl') {
    const rows: Row[] = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      if (raw.trim() === '') return;
      let obj: unknown;
      try {
        obj = JSON.parse(raw);
      } catch (err) {
        throw new Error(`${file} line ${i + 1}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${file} line ${i + 1}: expected a JSON object`);
      const rec = obj as Record<string, unknown>;
      rows.push({
        line: i + 1,
        get: (c) => {
          const v = rec[c];
          if (v === undefined || v === null) return undefined;
          return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
        },
        list: (c) => (Array.isArray(rec[c]) ? rec[c] as unknown[] : undefined),
      });
    });
    return { rows, columns: undefined };
  }
  const parsed = format === 'csv'
    ? parseCsv(text)
    : text.split(/\r?\n/).map((l, i) => ({ fields: l.split('\t'), line: i + 1 })).filter((r) => !(r.fields.length === 1 && r.fields[0].trim() === ''));
  if (parsed.length === 0) throw new Error(`${file}: empty (expected a header row naming the columns)`);
  const columns = parsed[0].fields.map((f) => f.trim());
  const index = new Map(columns.map((c, i) => [c, i]));
  const rows = parsed.slice(1).map(({ fields, line }) => {
    if (fields.length !== columns.length) throw new Error(`${file} row ${line}: expected ${columns.length} fields (${columns.join(',')}), got ${fields.length}`);
    return { line, get: (c: string) => { const i = index.get(c); return i === undefined ? undefined : fields[i]; } };
  });
  return { rows, columns };
}

/** The pairs of a caption table, in file order. Errors name the file and row. */
export function readCaptionTable(file: string, opts: CaptionTableOptions = {}): PairSample[] {
  const format = tableFormat(file);
  if (format === undefined) throw new Error(`${file}: unknown table format (expected .csv, .tsv or .jsonl)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
  const imageColumn = opts.imageColumn ?? 'filepath';
  const captionColumn = opts.captionColumn ?? 'caption';
  const filters = opts.filters ?? [];
  const { rows, columns } = tableRows(file, text, format);
  if (columns !== undefined) {
    for (const c of [imageColumn, captionColumn, ...filters.map((f) => f.column)]) {
      if (!columns.includes(c)) throw new Error(`${file}: no column "${c}" in the header (${columns.join(',')})`);
    }
  }
  const base = path.dirname(path.resolve(file));
  const what = format === 'jsonl' ? 'line' : 'row';
  const out: PairSample[] = [];
  for (const row of rows) {
    const where = `${file} ${what} ${row.line}`;
    let keep = true;
    for (const f of filters) {
      const v = row.get(f.column);
      if (v === undefined) throw new Error(`${where}: no field "${f.column}" (used by a filter)`);
      if (!filterMatches(f, v)) keep = false;
    }
    if (!keep) continue;
    const rel = row.get(imageColumn)?.trim();
    if (rel === undefined || rel === '') throw new Error(`${where}: missing or empty "${imageColumn}"`);
    const list = row.list?.(captionColumn);
    const captions = list === undefined ? [row.get(captionColumn)] : list;
    if (captions.length === 0) throw new Error(`${where}: "${captionColumn}" is an empty list for ${rel}`);
    captions.forEach((c, i) => {
      const which = list === undefined ? `"${captionColumn}"` : `"${captionColumn}"[${i}]`;
      if (typeof c !== 'string' || c.trim() === '') throw new Error(`${where}: missing or empty ${which} for ${rel}${c === undefined || typeof c === 'string' ? '' : ' (not a string)'}`);
    });
    const strings = captions as string[];
    out.push({
      image: { kind: 'file', path: path.isAbsolute(rel) ? rel : path.join(base, rel) }, caption: strings[0], key: rel, where,
      ...(strings.length > 1 ? { captions: strings } : {}),
    });
  }
  return out;
}
