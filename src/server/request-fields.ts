// Validation of the fields of JSON and form requests. Each helper either returns a well-typed value
// or throws 400 invalid_field naming the field and what was expected of it.
import { classPrompt, checkClassList } from '../eval/class-names.js';
import { invalidField } from './api-error.js';
import { bytesOf, type FormFile } from './payload.js';
import type { ImageUpload } from './service.js';

/** The body as a JSON object. */
export function jsonObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidField(`expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : `${typeof v} ${JSON.stringify(v)?.slice(0, 40) ?? ''}`.trim();
}

/** A non-empty string of at most `maxLength` characters. */
export function requiredString(value: unknown, field: string, maxLength: number): string {
  if (value === undefined) throw invalidField(`missing field "${field}"`);
  if (typeof value !== 'string') throw invalidField(`"${field}" must be a string, got ${describe(value)}`);
  if (value.trim() === '') throw invalidField(`"${field}" is empty`);
  if (value.length > maxLength) throw invalidField(`"${field}" is longer than ${maxLength} characters`);
  return value;
}

/** `top`: an integer in [1, max], from JSON (number) or a form (string); `fallback` when absent. */
export function topCount(value: unknown, fallback: number, max: number): number {
  if (value === undefined) return Math.min(fallback, max);
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw invalidField(`"top" must be an integer from 1 to ${max}, got ${describe(value)}`);
  }
  return n;
}

/**
 * Labels from a string (comma- or newline-separated) or an array of strings: trimmed, non-empty,
 * no duplicates, at most `maxLabels` of at most 200 characters.
 */
export function labelList(value: unknown, maxLabels: number): string[] {
  if (value === undefined) throw invalidField('missing field "labels" (comma-separated text or an array of strings)');
  let labels: string[];
  if (typeof value === 'string') {
    labels = value.split(/[,\n]/).map((l) => l.trim());
    // A trailing separator ("cat, dog,") leaves an empty last item that nobody meant as a label.
    if (labels.length > 1 && labels[labels.length - 1] === '') labels.pop();
  } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    labels = (value as string[]).map((l) => l.trim());
  } else {
    throw invalidField(`"labels" must be comma-separated text or an array of strings, got ${describe(value)}`);
  }
  if (labels.length > maxLabels) throw invalidField(`"labels" has ${labels.length} labels; at most ${maxLabels} are allowed`);
  const long = labels.findIndex((l) => l.length > 200);
  if (long >= 0) throw invalidField(`"labels" item ${long + 1} is longer than 200 characters`);
  try {
    checkClassList(labels.map(classPrompt), '"labels"', (i) => `"labels" item ${i + 1}`);
  } catch (err) {
    throw invalidField(err instanceof Error ? err.message : String(err));
  }
  return labels;
}

/** Texts to embed: an array of 1 to `maxTexts` strings (a single string is one text). */
export function textList(value: unknown, maxTexts: number, maxLength: number): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
    throw invalidField(`"texts" must be an array of strings, got ${describe(value)}`);
  }
  if (list.length > maxTexts) throw invalidField(`"texts" has ${list.length} texts; at most ${maxTexts} are allowed`);
  const long = (list as string[]).findIndex((t) => t.length > maxLength);
  if (long >= 0) throw invalidField(`"texts" item ${long + 1} is longer than ${maxLength} characters`);
  return list as string[];
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** An image given in JSON as base64 (optionally a data: URL). */
export function base64Image(value: unknown, field: string): ImageUpload {
  if (typeof value !== 'string') throw invalidField(`"${field}" must be a base64-encoded image, got ${describe(value)}`);
  const comma = value.startsWith('data:') ? value.indexOf(',') : -1;
  const text = (comma >= 0 ? value.slice(comma + 1) : value).replace(/\s+/g, '');
  if (text === '' || !BASE64.test(text)) throw invalidField(`"${field}" is not valid base64`);
  return { bytes: bytesOf(Buffer.from(text, 'base64')), name: field };
}

/** The single uploaded file of a form (any field name); 400 if there is none or several. */
export function singleFormFile(files: readonly FormFile[], fieldHint: string): FormFile {
  if (files.length === 0) throw invalidField(`the form has no file; attach the image as a file field (e.g. "${fieldHint}")`);
  if (files.length > 1) throw invalidField(`the form has ${files.length} files (${files.map((f) => `"${f.field}"`).join(', ')}); send exactly one`);
  return files[0];
}

/** The only value of a form text field, or undefined; 400 if it is repeated. */
export function formField(fields: ReadonlyMap<string, string[]>, name: string): string | undefined {
  const values = fields.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) throw invalidField(`the form field "${name}" is given ${values.length} times`);
  return values[0];
}
