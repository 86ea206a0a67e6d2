// The inputs of the emoji dataset: CLDR names and keywords (emojibase-data) and eight Iconify SVG
// icon sets, read from the npm packages installed with clip-ts. Nothing here renders; this module
// decides which emoji are classes, what their captions are and which icon (if any) each style has.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** One art style of the dataset: its folder/column name and the Iconify set it comes from. */
export interface EmojiStyle {
  /** Folder under images/ and value of the `style` column. */
  style: string;
  /** Iconify prefix; the npm package is `@iconify-json/<set>`. */
  set: string;
}

// The style names are the ones of the earlier export of this dataset, so that label files made from
// it stay valid; the order is the order of the rows in labels.csv.
export const EMOJI_STYLES: readonly EmojiStyle[] = Object.freeze([
  { style: 'noto', set: 'noto' },
  { style: 'twemoji', set: 'twemoji' },
  { style: 'openmoji', set: 'openmoji' },
  { style: 'fluent-flat', set: 'fluent-emoji-flat' },
  { style: 'fluent-color', set: 'fluent-emoji' },
  { style: 'fluent-mono', set: 'fluent-emoji-high-contrast' },
  { style: 'noto-v1-blob', set: 'noto-v1' },
  { style: 'emojione-v1', set: 'emojione-v1' },
]);

// The versions the published class and image counts refer to. Other versions give other classes or
// artwork, so the builder refuses them rather than silently producing a different dataset.
export const PINNED_VERSIONS: Readonly<Record<string, string>> = Object.freeze({
  'emojibase-data': '17.0.0',
  '@iconify-json/noto': '1.2.9',
  '@iconify-json/twemoji': '1.2.5',
  '@iconify-json/openmoji': '1.2.29',
  '@iconify-json/fluent-emoji-flat': '1.2.6',
  '@iconify-json/fluent-emoji': '1.2.7',
  '@iconify-json/fluent-emoji-high-contrast': '1.2.6',
  '@iconify-json/noto-v1': '1.2.5',
  '@iconify-json/emojione-v1': '1.2.3',
  sharp: '0.35.5',
});

/** emojibase's group number of the "component" group (skin-tone swatches, hair styles). */
const COMPONENT_GROUP = 2;

/** A record of emojibase-data/en/data.json (the fields this dataset uses). */
interface EmojibaseRecord {
  label: string;
  hexcode: string;
  emoji: string;
  tags?: string[];
  group?: number;
  subgroup?: number;
}

/** One class of the dataset: a fully qualified base emoji. */
export interface EmojiClass {
  /** The CLDR name, unique among classes (`grinning face`, `flag: Japan`). */
  label: string;
  /** Upper-case code points joined by `-`, as emojibase writes them (`1F600`). */
  hexcode: string;
  emoji: string;
  /** CLDR keywords other than the label itself, in emojibase's order. */
  tags: string[];
  /** `<label>: <keyword>, <keyword>, ...`, or the label alone when there is no keyword. */
  caption: string;
  group: string;
  subgroup: string;
  /** Position in emojibase's order (0-based, among the classes). */
  order: number;
}

function readJsonFile<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** The installed version of an npm package, or undefined when it is not installed. */
export function installedVersion(pkg: string): string | undefined {
  // Looked up along Node's own search path rather than through require.resolve(`pkg/package.json`),
  // which packages with an "exports" map (sharp) do not allow.
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const file = path.join(dir, pkg, 'package.json');
    if (existsSync(file)) return readJsonFile<{ version: string }>(file).version;
  }
  return undefined;
}

/** Throws, naming every offending package, unless the installed sources are the pinned versions. */
export function checkSourceVersions(pkgs: readonly string[] = Object.keys(PINNED_VERSIONS)): void {
  const bad: string[] = [];
  for (const pkg of pkgs) {
    const want = PINNED_VERSIONS[pkg];
    const have = installedVersion(pkg);
    if (have !== want) bad.push(`${pkg}: need ${want}, found ${have ?? 'nothing'}`);
  }
  if (bad.length > 0) {
    throw new Error(`the emoji dataset needs the pinned source packages (${bad.join('; ')}); reinstall clip-ts's dependencies with npm ci`);
  }
}

/**
 * The name an Iconify emoji set gives the icon of a CLDR name: lower case, accents and apostrophes
 * dropped, `&` dropped, every other run of non-alphanumerics one dash, no dash at either end.
 * (`Piñata` -> `pinata`, `man’s shoe` -> `mans-shoe`, `flag: Côte d’Ivoire` -> `flag-cote-divoire`.)
 */
export function iconSlug(label: string): string {
  return label
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[’']/g, '')
    .replace(/&/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Names an icon set may use for a label: the slug, then the older `flag-for-…` spellings of flags. */
export function iconNameCandidates(label: string): string[] {
  const slug = iconSlug(label);
  const names = [slug];
  if (slug.startsWith('flag-')) {
    const rest = slug.slice('flag-'.length);
    names.push(`flag-for-${rest}`, `flag-for-flag-${rest}`);
  }
  return names;
}

let classCache: EmojiClass[] | undefined;

/**
 * The dataset's classes in emoji order: every fully qualified emoji emojibase lists at the top
 * level (its skin-tone variants live inside each record, so they are not separate entries), minus
 * the components and the records without a group (bare regional-indicator letters), minus the
 * labels whose slug is shared with another label (`keycap: #` and `keycap: *` both become
 * `keycap` and cannot be matched to an icon unambiguously; the digit keycaps stay).
 */
export function emojiClasses(): EmojiClass[] {
  if (classCache !== undefined) return classCache;
  const records = readJsonFile<EmojibaseRecord[]>(require.resolve('emojibase-data/en/data.json'));
  const meta = readJsonFile<{ groups: Record<string, string>; subgroups: Record<string, string> }>(
    require.resolve('emojibase-data/meta/groups.json'));
  const candidates = records.filter((r) => r.group !== undefined && r.group !== COMPONENT_GROUP);
  const slugUses = new Map<string, number>();
  for (const r of candidates) slugUses.set(iconSlug(r.label), (slugUses.get(iconSlug(r.label)) ?? 0) + 1);
  const classes: EmojiClass[] = [];
  for (const r of candidates) {
    if (slugUses.get(iconSlug(r.label)) !== 1) continue;
    const tags = (r.tags ?? []).filter((t) => t !== r.label);
    classes.push({
      label: r.label,
      hexcode: r.hexcode,
      emoji: r.emoji,
      tags,
      caption: tags.length > 0 ? `${r.label}: ${tags.join(', ')}` : r.label,
      group: meta.groups[String(r.group)],
      subgroup: r.subgroup !== undefined ? meta.subgroups[String(r.subgroup)] : '',
      order: classes.length,
    });
  }
  classCache = classes;
  return classes;
}

/** The parts of an Iconify JSON icon set that rendering needs. */
interface IconifyIcon {
  body: string;
  left?: number;
  top?: number;
  width?: number;
  height?: number;
}

interface IconifyAlias {
  parent: string;
  width?: number;
  height?: number;
  hFlip?: boolean;
  vFlip?: boolean;
  rotate?: number;
}

interface IconifySet {
  icons: Record<string, IconifyIcon>;
  aliases?: Record<string, IconifyAlias>;
  left?: number;
  top?: number;
  width?: number;
  height?: number;
}

/** The licence and author of an icon set, from its info.json. */
export interface IconSetInfo {
  name: string;
  author: { name: string; url?: string };
  license: { title: string; spdx: string; url?: string };
}

/** An icon's SVG markup and the square box (in icon units) it is drawn into. */
export interface IconArtwork {
  /** The icon's name in the set (the candidate that matched). */
  name: string;
  body: string;
  /** A square viewBox, `x y side side`, with the artwork centred in it. */
  viewBox: [number, number, number, number];
}

/** One icon set, loaded from its npm package. */
export class IconSet {
  readonly style: EmojiStyle;
  readonly packageName: string;
  readonly version: string;
  readonly info: IconSetInfo;
  private readonly data: IconifySet;

  constructor(style: EmojiStyle) {
    this.style = style;
    this.packageName = `@iconify-json/${style.set}`;
    let iconsFile: string;
    try {
      iconsFile = require.resolve(`${this.packageName}/icons.json`);
    } catch {
      throw new Error(`style ${style.style}: the npm package ${this.packageName} is not installed`);
    }
    this.data = readJsonFile<IconifySet>(iconsFile);
    this.info = readJsonFile<IconSetInfo>(require.resolve(`${this.packageName}/info.json`));
    this.version = installedVersion(this.packageName) ?? 'unknown';
  }

  get licence(): string {
    return this.info.license.spdx;
  }

  /**
   * The artwork stored under `name`: the icon itself or a plain alias of one. Aliases that flip or
   * rotate their parent are not followed (the renderer does not apply transformations), nor are
   * aliases of aliases.
   */
  artwork(name: string): IconArtwork | undefined {
    let icon: IconifyIcon | undefined = this.data.icons[name];
    let alias: IconifyAlias | undefined;
    if (icon === undefined) {
      alias = this.data.aliases?.[name];
      if (alias === undefined || alias.hFlip === true || alias.vFlip === true || (alias.rotate ?? 0) !== 0) return undefined;
      icon = this.data.icons[alias.parent];
      if (icon === undefined) return undefined;
    }
    // Iconify's defaults: position 0,0 and a 16x16 box unless the icon or the set says otherwise.
    const left = icon.left ?? this.data.left ?? 0;
    const top = icon.top ?? this.data.top ?? 0;
    const width = alias?.width ?? icon.width ?? this.data.width ?? 16;
    const height = alias?.height ?? icon.height ?? this.data.height ?? 16;
    const side = Math.max(width, height);
    return { name, body: icon.body, viewBox: [left - (side - width) / 2, top - (side - height) / 2, side, side] };
  }

  /** The artwork for a class, trying the slug and the older flag spellings in turn. */
  findArtwork(label: string): IconArtwork | undefined {
    for (const name of iconNameCandidates(label)) {
      const art = this.artwork(name);
      if (art !== undefined) return art;
    }
    return undefined;
  }
}

/** A standalone SVG document drawing `art` into a `size` x `size` pixel square. */
export function artworkSvg(art: IconArtwork, size: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${size}" height="${size}" viewBox="${art.viewBox.join(' ')}">${art.body}</svg>`;
}

/** The styles named in `names` (all when undefined), in dataset order; unknown names are an error. */
export function selectStyles(names?: readonly string[]): EmojiStyle[] {
  if (names === undefined) return [...EMOJI_STYLES];
  const known = new Set(EMOJI_STYLES.map((s) => s.style));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new Error(`unknown emoji style ${unknown.map((n) => `"${n}"`).join(', ')} (styles: ${EMOJI_STYLES.map((s) => s.style).join(', ')})`);
  }
  if (names.length === 0) throw new Error('no emoji style selected');
  const wanted = new Set(names);
  return EMOJI_STYLES.filter((s) => wanted.has(s.style));
}
