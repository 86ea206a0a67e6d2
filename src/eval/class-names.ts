// The classes of a zero-shot classifier: a label to report and the name(s) put into the templates.
// Lists come from the command line, from a file, or built in (ImageNet's 1000, CLIP's per-dataset
// lists); every list is checked for empty and repeated labels, with the position of the culprit.
import { readFileSync } from 'node:fs';
import { assetPath } from '../paths.js';
import { datasetPrompts } from './templates.js';

/** One class: `label` is reported, each of `names` fills the templates (synonyms are averaged). */
export interface ClassPrompt {
  label: string;
  names: string[];
}

/** A bad class list, with the place it comes from. */
export class ClassListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassListError';
  }
}

/** A class whose only name is its label. */
export function classPrompt(label: string): ClassPrompt {
  return { label, names: [label] };
}

/**
 * Checks that there is a class, every label and name is non-empty, and no label repeats.
 * `whereOf(i)` names the i-th entry (`labels.txt:4`, `--labels item 2`).
 */
export function checkClassList(classes: readonly ClassPrompt[], source: string, whereOf: (index: number) => string): void {
  if (classes.length === 0) throw new ClassListError(`${source}: no labels`);
  const seen = new Map<string, number>();
  classes.forEach((c, i) => {
    if (c.label.trim() === '') throw new ClassListError(`${whereOf(i)}: empty label`);
    if (c.names.length === 0 || c.names.some((n) => n.trim() === '')) throw new ClassListError(`${whereOf(i)}: empty class name for "${c.label}"`);
    const before = seen.get(c.label);
    if (before !== undefined) throw new ClassListError(`${whereOf(i)}: duplicate label "${c.label}" (first at ${whereOf(before)})`);
    seen.set(c.label, i);
  });
}

/** Classes from a comma-separated list (`--labels "cat,dog"`); spaces around each label are trimmed. */
export function parseLabelList(list: string, source = '--labels'): ClassPrompt[] {
  const classes = list.split(',').map((l) => classPrompt(l.trim()));
  checkClassList(classes, source, (i) => `${source} item ${i + 1}${classes.length > 1 ? ` of "${list}"` : ''}`);
  return classes;
}

/**
 * Classes from the text of a labels file: a JSON array when it starts with `[` (each entry a label,
 * or an array of synonyms whose first is the label), otherwise one label per line (trimmed; the
 * empty line after a final newline is not a label, any other empty line is an error).
 */
export function parseLabelsText(text: string, source: string): ClassPrompt[] {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new ClassListError(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!Array.isArray(parsed)) throw new ClassListError(`${source}: expected a JSON array of labels`);
    const classes = parsed.map((entry: unknown, i): ClassPrompt => {
      if (typeof entry === 'string') return classPrompt(entry.trim());
      if (Array.isArray(entry) && entry.length > 0 && entry.every((n) => typeof n === 'string')) {
        const names = (entry as string[]).map((n) => n.trim());
        return { label: names[0], names };
      }
      throw new ClassListError(`${source} (entry ${i + 1}): expected a label or a non-empty array of synonyms, got ${JSON.stringify(entry)}`);
    });
    checkClassList(classes, source, (i) => `${source} (entry ${i + 1})`);
    return classes;
  }
  const lines = body.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const classes = lines.map((l) => classPrompt(l.trim()));
  checkClassList(classes, source, (i) => `${source}:${i + 1}`);
  return classes;
}

/** Classes from a labels file (see parseLabelsText). */
export function loadLabelsFile(file: string): ClassPrompt[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ClassListError(`cannot read labels file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseLabelsText(text, file);
}

let imagenet: string[] | undefined;

/** OpenAI's 1000 ImageNet class names (Prompt_Engineering_for_ImageNet.ipynb), in class-index order. */
export function imagenetClassNames(): string[] {
  imagenet ??= JSON.parse(readFileSync(assetPath('imagenet_classnames.json'), 'utf8')) as string[];
  return [...imagenet];
}

/**
 * A built-in class list: `imagenet` or a dataset of CLIP's prompts.md (case-insensitive), or
 * undefined. Synonym lists keep their first name as the label.
 */
export function builtinClasses(name: string): ClassPrompt[] | undefined {
  if (name.toLowerCase() === 'imagenet') return imagenetClassNames().map(classPrompt);
  const ds = datasetPrompts(name);
  if (ds === undefined) return undefined;
  return ds.classes.map((c) => (Array.isArray(c) ? { label: c[0], names: [...c] } : classPrompt(c)));
}
