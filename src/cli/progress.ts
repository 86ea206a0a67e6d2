// Progress of a long command on stderr. On a terminal: one line redrawn in place (a bar, the count,
// the rate and the time left). Elsewhere (a log file, CI, a pipe): a plain line every few seconds,
// so logs stay readable and do not fill with carriage returns.

import { formatDuration } from '../util/duration.js';

export { formatDuration };

/** The part of a stream the reporter writes to (process.stderr, or a stand-in in tests). */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being done, printed first (`classifying`, `rendering noto`). */
  label: string;
  /** The number of items to do; 0 or undefined when unknown (no bar, no ETA). */
  total?: number;
  /** The plural name of an item, used in the rate (`images/s`). Default `items`. */
  unit?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Force the terminal (true) or plain (false) format; default: the stream's isTTY. */
  tty?: boolean;
  /** Minimum time between two terminal redraws. Default 100 ms. */
  redrawMs?: number;
  /** Time between two plain lines. Default 5000 ms. */
  lineMs?: number;
  /** A clock in milliseconds, for tests. Default performance.now. */
  now?: () => number;
}

function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return '-';
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

export class Progress {
  private readonly label: string;
  private readonly total: number;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly redrawMs: number;
  private readonly lineMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private done = 0;
  private lastDraw = -Infinity;
  private lastLine: number;
  private drawnWidth = 0;
  private finished = false;

  constructor(opts: ProgressOptions) {
    this.label = opts.label;
    this.total = opts.total !== undefined && opts.total > 0 ? opts.total : 0;
    this.unit = opts.unit ?? 'items';
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.redrawMs = opts.redrawMs ?? 100;
    this.lineMs = opts.lineMs ?? 5000;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.lastLine = this.start;
  }

  /** Items done so far. */
  get count(): number {
    return this.done;
  }

  /** Adds `n` finished items. */
  tick(n = 1): void {
    this.update(this.done + n);
  }

  /** Sets the number of finished items. */
  update(done: number): void {
    if (this.finished) return;
    this.done = done;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.redrawMs) {
        this.lastDraw = t;
        this.draw(this.line(t));
      }
    } else if (t - this.lastLine >= this.lineMs) {
      this.lastLine = t;
      this.stream.write(this.line(t) + '\n');
    }
  }

  /** Writes the final state (and a newline on a terminal); later updates are ignored. */
  finish(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    const text = message ?? this.summary(t);
    if (this.tty) {
      this.draw(text);
      this.stream.write('\n');
    } else {
      this.stream.write(text + '\n');
    }
  }

  /** Clears the terminal line (for instance before printing an error), without finishing. */
  clear(): void {
    if (this.tty && this.drawnWidth > 0) {
      this.stream.write('\r' + ' '.repeat(this.drawnWidth) + '\r');
      this.drawnWidth = 0;
    }
  }

  private summary(t: number): string {
    const secs = (t - this.start) / 1000;
    return `${this.label}: ${this.done} ${this.unit} in ${formatDuration(secs)} (${formatRate(this.done / Math.max(secs, 1e-9))} ${this.unit}/s)`;
  }

  /** The status line at time `t`. */
  line(t: number = this.now()): string {
    const secs = (t - this.start) / 1000;
    const rate = secs > 0 ? this.done / secs : NaN;
    const parts = [`${this.label}:`];
    if (this.total > 0) {
      const frac = Math.min(1, this.done / this.total);
      if (this.tty) parts.push(this.bar(frac));
      parts.push(`${this.done}/${this.total}`, `${(frac * 100).toFixed(0)}%`);
    } else {
      parts.push(String(this.done));
    }
    parts.push(`${formatRate(rate)} ${this.unit}/s`);
    if (this.total > 0) {
      const eta = rate > 0 ? (this.total - this.done) / rate : NaN;
      parts.push(`ETA ${formatDuration(eta)}`);
    }
    return parts.join(' ');
  }

  private bar(frac: number): string {
    const columns = this.stream.columns ?? 80;
    const width = Math.max(10, Math.min(40, columns - 60));
    const filled = Math.round(frac * width);
    return '[' + '#'.repeat(filled) + '.'.repeat(width - filled) + ']';
  }

  private draw(text: string): void {
    const columns = this.stream.columns ?? 80;
    const shown = text.length >= columns ? text.slice(0, columns - 1) : text;
    const pad = this.drawnWidth > shown.length ? ' '.repeat(this.drawnWidth - shown.length) : '';
    this.stream.write('\r' + shown + pad);
    this.drawnWidth = shown.length;
  }
}
