// Download progress on stderr: bytes, percentage, speed and time left. On a terminal one line is
// redrawn in place (at most ten times a second); otherwise (logs, CI) a plain line is printed at
// every 10 % step, or every 10 MB when the size is unknown, so logs stay short.

import { formatDuration } from '../util/duration.js';

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

export class ProgressReporter {
  private readonly startMs = Date.now();
  private lastDrawMs = 0;
  private lastStep = -1;
  private done: number;

  /**
   * `label` names the download; `total` is the full size in bytes (undefined when unknown);
   * `already` counts bytes of a resumed download that were on disk before (not in the speed).
   */
  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly already = 0,
  ) {
    this.done = already;
  }

  line(): string {
    const elapsed = Math.max((Date.now() - this.startMs) / 1000, 1e-3);
    const speed = (this.done - this.already) / elapsed;
    const parts = [this.label];
    if (this.total !== undefined && this.total > 0) {
      const pct = (100 * this.done) / this.total;
      const eta = speed > 0 ? (this.total - this.done) / speed : NaN;
      parts.push(`${mb(this.done)}/${mb(this.total)} MB`, `${pct.toFixed(1)}%`, `${(speed / 1e6).toFixed(1)} MB/s`, `ETA ${formatDuration(eta)}`);
    } else {
      parts.push(`${mb(this.done)} MB`, `${(speed / 1e6).toFixed(1)} MB/s`);
    }
    return parts.join('  ');
  }

  update(bytesSoFar: number): void {
    this.done = bytesSoFar;
    const now = Date.now();
    if (this.sink.isTTY === true) {
      if (now - this.lastDrawMs < 100) return;
      this.lastDrawMs = now;
      this.sink.write(`\r${this.line()}\x1b[K`);
      return;
    }
    const step = this.total !== undefined && this.total > 0 ? Math.floor((10 * this.done) / this.total) : Math.floor(this.done / 10e6);
    if (step !== this.lastStep) {
      this.lastStep = step;
      this.sink.write(this.line() + '\n');
    }
  }

  finish(message: string): void {
    this.sink.write(this.sink.isTTY === true ? `\r${this.line()}\x1b[K\n${message}\n` : `${message}\n`);
  }
}
