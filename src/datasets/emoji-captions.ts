// Caption variants for training on the emoji set. The published captions are always
// "<name>: <every keyword>", while zero-shot prompts and search queries are short phrases ("an
// emoji of red apple.", "red apple"). Training on a handful of variants per image — the name
// alone, the name in a prompt template, the name with a random subset of its keywords, a few
// keywords alone — lets one model answer all of those. The variants of an image are fixed by a
// hash of its path, so captions.jsonl is the same on every build; the trainer draws one variant per
// image per epoch (`--data captions.jsonl --caption-column captions`).
import { createHash } from 'node:crypto';
import { EMOJI_TEMPLATES, fillTemplate } from '../eval/templates.js';
import { SeededRandom } from '../image/seeded-random.js';

/** Variants per image (the first is the published caption). */
export const CAPTION_VARIANTS = 12;

/** `count` distinct items of `items` in random order. */
function sample<T>(items: readonly T[], count: number, rng: SeededRandom): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

/**
 * The training captions of one image: the published caption, the name, the name in each of the
 * emoji prompt templates, then names with 1–4 random keywords and a keyword-only caption, until
 * CAPTION_VARIANTS variants. Deterministic in (filepath, label, caption, tags).
 */
export function emojiCaptionVariants(row: { filepath: string; label: string; caption: string; tags: readonly string[] }): string[] {
  const digest = createHash('sha256').update(row.filepath).digest();
  const rng = new SeededRandom(digest.readUInt32BE(0), digest.readUInt32BE(4));
  const out = [row.caption, row.label];
  for (const t of EMOJI_TEMPLATES) {
    if (t !== '{}') out.push(fillTemplate(t, row.label));
  }
  const tags = row.tags;
  if (tags.length > 0) out.push(sample(tags, Math.min(3, tags.length), rng).join(', '));
  while (out.length < CAPTION_VARIANTS) {
    out.push(tags.length === 0 ? row.label : `${row.label}: ${sample(tags, rng.int(1, Math.min(4, tags.length) + 1), rng).join(', ')}`);
  }
  return out.slice(0, CAPTION_VARIANTS);
}
