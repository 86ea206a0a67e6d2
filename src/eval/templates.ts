// Prompt templates for zero-shot classification: "a photo of a {}." becomes "a photo of a goldfish."
// for the class "goldfish". Built-in sets (OpenAI's 80 ImageNet templates, a single simple one, the
// per-dataset ones of CLIP's prompts.md) ship in assets/; users can give their own in a file.
//
// Placeholders follow Python's str.format, which the reference uses: `{}` (or `{c}`, a readable
// alias) is the class name, `{{` and `}}` are literal braces, anything else in braces is an error.
import { existsSync, readFileSync } from 'node:fs';
import { assetPath } from '../paths.js';

/** The template set of a single prompt, "a photo of a {}." */
export const SIMPLE_TEMPLATES: readonly string[] = Object.freeze(['a photo of a {}.']);

/**
 * Prompts for emoji and icons (`emoji`): the shipped model was trained with these wrapped around
 * emoji names (src/datasets/emoji-captions.ts), so they are its natural zero-shot prompts.
 */
export const EMOJI_TEMPLATES: readonly string[] = Object.freeze([
  '{}', 'an emoji of {}.', 'a {} emoji.', 'an icon of {}.', 'a picture of {}.', 'a drawing of {}.',
]);

/** A list of templates and where it came from (for messages and reports). */
export interface TemplateSet {
  /** `imagenet`, `simple`, a dataset name (`CIFAR10`) or the file path. */
  name: string;
  templates: string[];
}

/** A dataset's class names and templates from CLIP's prompts.md. */
export interface DatasetPrompts {
  name: string;
  /** One entry per class: its name, or several synonyms (FacialEmotionRecognition2013). */
  classes: (string | string[])[];
  templates: string[];
}

/** A template that cannot be used, with where it was read. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Piece = { text: string } | { slot: true };

/**
 * Splits a template into literal text and class-name slots. `where` names the template's origin
 * (`templates.txt:3`) in errors.
 */
function parseTemplate(template: string, where: string): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let slots = 0;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch === '{' && template[i + 1] === '{') {
      text += '{';
      i++;
    } else if (ch === '}' && template[i + 1] === '}') {
      text += '}';
      i++;
    } else if (ch === '{') {
      const close = template.indexOf('}', i);
      const field = close < 0 ? undefined : template.slice(i + 1, close);
      if (field !== '' && field !== 'c') {
        throw new TemplateError(`${where}: template "${template}" has an unknown placeholder ` +
          `"${close < 0 ? template.slice(i) : `{${field}}`}" (use {} or {c} for the class name, {{ and }} for braces)`);
      }
      if (text !== '') pieces.push({ text });
      text = '';
      pieces.push({ slot: true });
      slots++;
      i = close;
    } else if (ch === '}') {
      throw new TemplateError(`${where}: template "${template}" has a "}" without "{" (write }} for a literal brace)`);
    } else {
      text += ch;
    }
  }
  if (text !== '') pieces.push({ text });
  if (slots === 0) throw new TemplateError(`${where}: template "${template}" has no placeholder for the class name ({} or {c})`);
  return pieces;
}

/** Throws a TemplateError naming `where` unless `template` is usable. */
export function checkTemplate(template: string, where = 'template'): void {
  parseTemplate(template, where);
}

// Parsed templates, so that filling 80 templates for 1000 classes parses each template once.
const parsedTemplates = new Map<string, Piece[]>();

/** The prompt for `className`: every placeholder replaced by it. */
export function fillTemplate(template: string, className: string): string {
  let pieces = parsedTemplates.get(template);
  if (pieces === undefined) {
    pieces = parseTemplate(template, 'template');
    if (parsedTemplates.size < 10_000) parsedTemplates.set(template, pieces);
  }
  let out = '';
  for (const p of pieces) out += 'slot' in p ? className : p.text;
  return out;
}

/** Checks every template (and that there is at least one, none repeated); `source` names the origin. */
export function checkTemplates(templates: readonly string[], source: string, lineOf?: (index: number) => number): void {
  if (templates.length === 0) throw new TemplateError(`${source}: no templates`);
  const seen = new Map<string, number>();
  templates.forEach((t, i) => {
    const where = lineOf !== undefined ? `${source}:${lineOf(i)}` : `${source} (template ${i + 1})`;
    checkTemplate(t, where);
    const before = seen.get(t);
    if (before !== undefined) {
      const first = lineOf !== undefined ? `line ${lineOf(before)}` : `template ${before + 1}`;
      throw new TemplateError(`${where}: template "${t}" repeats ${first}`);
    }
    seen.set(t, i);
  });
}

/**
 * Templates from the text of a file: a JSON array of strings when it starts with `[`, otherwise
 * one template per line (blank lines and lines starting with `#` are skipped; surrounding spaces
 * are trimmed).
 */
export function parseTemplatesText(text: string, source: string): string[] {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new TemplateError(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!Array.isArray(parsed)) throw new TemplateError(`${source}: expected a JSON array of template strings`);
    parsed.forEach((t, i) => {
      if (typeof t !== 'string') throw new TemplateError(`${source} (template ${i + 1}): expected a string, got ${JSON.stringify(t)}`);
    });
    const templates = parsed as string[];
    checkTemplates(templates, source);
    return templates;
  }
  const templates: string[] = [];
  const lines: number[] = [];
  body.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    templates.push(line);
    lines.push(i + 1);
  });
  checkTemplates(templates, source, (i) => lines[i]);
  return templates;
}

/** Templates from a file (see parseTemplatesText). */
export function loadTemplatesFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TemplateError(`cannot read templates file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseTemplatesText(text, file);
}

let imagenet: string[] | undefined;
let byDataset: Record<string, DatasetPrompts> | undefined;

/** OpenAI's 80 ImageNet templates (Prompt_Engineering_for_ImageNet.ipynb), in the notebook's order. */
export function imagenetTemplates(): string[] {
  imagenet ??= JSON.parse(readFileSync(assetPath('imagenet_templates.json'), 'utf8')) as string[];
  return [...imagenet];
}

function allDatasetPrompts(): Record<string, DatasetPrompts> {
  if (byDataset === undefined) {
    const raw = JSON.parse(readFileSync(assetPath('prompts_by_dataset.json'), 'utf8')) as
      Record<string, { classes: (string | string[])[]; templates: string[] }>;
    byDataset = {};
    for (const [name, v] of Object.entries(raw)) byDataset[name] = { name, classes: v.classes, templates: v.templates };
  }
  return byDataset;
}

/** The dataset names of CLIP's prompts.md (`CIFAR10`, `Food101`, ...). */
export function datasetPromptNames(): string[] {
  return Object.keys(allDatasetPrompts());
}

/** The class names and templates of a dataset, by name (case-insensitive), or undefined. */
export function datasetPrompts(name: string): DatasetPrompts | undefined {
  const all = allDatasetPrompts();
  const key = Object.keys(all).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) return undefined;
  const d = all[key];
  return { name: d.name, classes: d.classes.map((c) => (Array.isArray(c) ? [...c] : c)), templates: [...d.templates] };
}

/**
 * The templates used when nothing else chooses: the bundled emoji model was trained with the emoji
 * prompts, any other model gets OpenAI's 80 ImageNet templates.
 */
export function defaultTemplates(bundledModel: boolean): TemplateSet {
  return bundledModel ? { name: 'emoji', templates: [...EMOJI_TEMPLATES] } : { name: 'imagenet', templates: imagenetTemplates() };
}

/** The names `resolveTemplates` accepts besides file paths. */
export function builtinTemplateSetNames(): string[] {
  return ['imagenet', 'simple', 'emoji', ...datasetPromptNames()];
}

/**
 * A template set by name or file: `imagenet` (the 80), `simple` (one), `emoji` (six), a dataset of CLIP's
 * prompts.md (`cifar10`, case-insensitive), or a file. A built-in name wins over a file of the same
 * name in the working folder; write `./simple` for the file.
 */
export function resolveTemplates(spec: string): TemplateSet {
  const lower = spec.toLowerCase();
  if (lower === 'imagenet') return { name: 'imagenet', templates: imagenetTemplates() };
  if (lower === 'simple') return { name: 'simple', templates: [...SIMPLE_TEMPLATES] };
  if (lower === 'emoji') return { name: 'emoji', templates: [...EMOJI_TEMPLATES] };
  const ds = datasetPrompts(spec);
  if (ds !== undefined) return { name: ds.name, templates: ds.templates };
  if (!existsSync(spec)) {
    throw new TemplateError(`templates "${spec}" is neither a file nor a built-in set (${builtinTemplateSetNames().join(', ')})`);
  }
  return { name: spec, templates: loadTemplatesFile(spec) };
}
