// A small, strict command-line parser shared by every clip-ts command.
//
// Options are declared up front; unknown options, missing values and bad numbers are errors that
// name the option. `--` ends the options, so a positional argument may start with `-`.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** 'flag' takes no value; 'string' takes one; 'list' may repeat and collects every value. */
  type: 'flag' | 'string' | 'list';
  /** A one-letter alias, without the dash. */
  short?: string;
}

export interface ParsedArgs {
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const out: ParsedArgs = { flags: new Set(), values: new Map(), lists: new Map(), positionals: [] };
  const shortNames = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.short !== undefined) shortNames.set(s.short, name);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.positionals.push(a);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else {
      const long = shortNames.get(a.slice(1, 2));
      if (long === undefined || a.length > 2) throw new UsageError(`unknown option ${a}`);
      name = long;
    }
    const s = spec[name];
    if (s === undefined) throw new UsageError(`unknown option --${name}`);
    if (s.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      out.flags.add(name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
      value = argv[++i];
    }
    if (s.type === 'string') {
      out.values.set(name, value);
    } else {
      const list = out.lists.get(name) ?? [];
      list.push(value);
      out.lists.set(name, list);
    }
  }
  return out;
}

/** Reads option `name` as a number within [min, max]; `integer` requires an integer. */
export function numberOption(args: ParsedArgs, name: string, fallback: number,
  opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  if (opts.integer === true && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got "${raw}"`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name} must be at least ${opts.min}, got ${raw}`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${name} must be at most ${opts.max}, got ${raw}`);
  return v;
}

/**
 * The values of a repeatable filter option (`--filter COL=V`), each parsed by `parse`; a bad one is
 * a usage error naming the option.
 */
export function filterOptions<F>(args: ParsedArgs, name: string, parse: (spec: string) => F): F[] {
  return (args.lists.get(name) ?? []).map((f) => {
    try {
      return parse(f);
    } catch (err) {
      throw new UsageError(`--${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}
