// Labelled image sets for the evaluations (linear probe, few-shot, zero-shot): either an
// ImageFolder tree (ROOT/CLASS/…/image.jpg, as torchvision's ImageFolder) or a CSV file of
// `filepath,label` rows. Everything that can be checked without decoding is checked here, with
// errors that name the folder, file or CSV row, so that a long feature extraction does not fail
// half-way on a typo.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface LabelledImage {
  /** The image file (absolute, or as given joined to the CSV's folder). */
  path: string;
  /** Index into `classes`. */
  label: number;
}

export interface LabelledImages {
  /** Class names; a label is an index into this list. */
  classes: string[];
  items: LabelledImage[];
  /** What was read: the folder or the CSV file. */
  source: string;
}

export interface ReadLabelledImagesOptions {
  /**
   * Use this class list (e.g. the training set's for a test set) instead of deriving one: a label
   * outside it is an error, and classes of the list without images are allowed.
   */
  classes?: readonly string[];
}

/** File extensions taken as images in an ImageFolder tree (other files are ignored, as torchvision does). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp'];

function isImageName(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Codepoint order, as Python's sorted() (torchvision sorts class folders that way). */
function byCodepoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads an ImageFolder tree or a `filepath,label` CSV (chosen by whether `source` is a folder). */
export function readLabelledImages(source: string, opts: ReadLabelledImagesOptions = {}): LabelledImages {
  if (!existsSync(source)) throw new Error(`${source}: no such folder or file (expected an ImageFolder tree or a filepath,label CSV)`);
  const st = statSync(source);
  return st.isDirectory() ? readImageFolder(source, opts) : readLabelCsv(source, opts);
}

/** Image files under `dir`, recursively, in sorted order (hidden entries skipped). */
function listImages(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodepoint(a.name, b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(p).isDirectory());
    if (isDir) out.push(...listImages(p));
    else if (isImageName(e.name)) out.push(p);
  }
  return out;
}

function classIndex(classes: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  classes.forEach((c, i) => {
    if (m.has(c)) throw new Error(`class "${c}" appears twice in the class list`);
    m.set(c, i);
  });
  return m;
}

function readImageFolder(root: string, opts: ReadLabelledImagesOptions): LabelledImages {
  const entries = readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const folders = entries
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && statSync(path.join(root, e.name)).isDirectory()))
    .map((e) => e.name)
    .sort(byCodepoint);
  const strayImages = entries.filter((e) => e.isFile() && isImageName(e.name)).map((e) => e.name);
  if (folders.length === 0) {
    throw new Error(strayImages.length > 0
      ? `${root}: the images lie directly in the folder; an ImageFolder tree has one subfolder per class (${root}/CLASS/image.jpg)`
      : `${root}: no class folders (expected ${root}/CLASS/image.jpg)`);
  }
  if (strayImages.length > 0) {
    throw new Error(`${root}: ${strayImages[0]} lies outside the class folders; put every image in its class's subfolder`);
  }
  const classes = opts.classes !== undefined ? [...opts.classes] : folders;
  const index = classIndex(classes);
  const items: LabelledImage[] = [];
  for (const name of folders) {
    const label = index.get(name);
    if (label === undefined) throw new Error(`${path.join(root, name)}: class "${name}" is not one of the expected classes (${classes.join(', ')})`);
    const files = listImages(path.join(root, name));
    if (files.length === 0) {
      throw new Error(`${path.join(root, name)}: class folder "${name}" holds no images (${IMAGE_EXTENSIONS.join(' ')})`);
    }
    for (const p of files) items.push({ path: p, label });
  }
  return { classes, items, source: root };
}

/** Splits CSV text into rows of fields (RFC 4180: quoted fields may hold commas, quotes and newlines). */
export function parseCsv(text: string): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0].trim() === '')) rows.push({ fields, line: rowLine });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new Error(`line ${rowLine}: a quoted field is not closed`);
  if (field !== '' || fields.length > 0) endRow();
  return rows;
}

const HEADER_PATH = ['filepath', 'path', 'file', 'filename', 'image'];
const HEADER_LABEL = ['label', 'class', 'classname', 'class_name'];

/** Numeric order when every class name is an integer ("2" before "10"), else codepoint order. */
function sortClassNames(names: string[]): string[] {
  if (names.every((n) => /^-?\d+$/.test(n))) return names.sort((a, b) => Number(a) - Number(b));
  return names.sort(byCodepoint);
}

function readLabelCsv(file: string, opts: ReadLabelledImagesOptions): LabelledImages {
  let rows: { fields: string[]; line: number }[];
  try {
    rows = parseCsv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (rows.length > 0) {
    const [a, b] = rows[0].fields.map((f) => f.trim().toLowerCase());
    if (rows[0].fields.length === 2 && HEADER_PATH.includes(a) && HEADER_LABEL.includes(b)) rows = rows.slice(1);
  }
  if (rows.length === 0) throw new Error(`${file}: no rows (expected filepath,label lines)`);
  const base = path.dirname(path.resolve(file));
  const parsed: { path: string; name: string }[] = [];
  for (const { fields, line } of rows) {
    if (fields.length !== 2) throw new Error(`${file} row ${line}: expected 2 fields (filepath,label), got ${fields.length}: ${fields.join(',')}`);
    const rel = fields[0].trim();
    const name = fields[1].trim();
    if (rel === '') throw new Error(`${file} row ${line}: empty filepath`);
    if (name === '') throw new Error(`${file} row ${line}: empty label for ${rel}`);
    const p = path.isAbsolute(rel) ? rel : path.join(base, rel);
    if (!existsSync(p)) throw new Error(`${file} row ${line}: image file not found: ${p}`);
    if (!statSync(p).isFile()) throw new Error(`${file} row ${line}: ${p} is not a file`);
    parsed.push({ path: p, name });
  }
  const classes = opts.classes !== undefined ? [...opts.classes] : sortClassNames([...new Set(parsed.map((r) => r.name))]);
  const index = classIndex(classes);
  const items = parsed.map((r, i) => {
    const label = index.get(r.name);
    if (label === undefined) throw new Error(`${file} row ${rows[i].line}: label "${r.name}" is not one of the expected classes (${classes.join(', ')})`);
    return { path: r.path, label };
  });
  return { classes, items, source: file };
}

/** Number of items of each class. */
export function classCounts(set: Pick<LabelledImages, 'classes' | 'items'>): number[] {
  const counts = new Array<number>(set.classes.length).fill(0);
  for (const it of set.items) counts[it.label]++;
  return counts;
}
