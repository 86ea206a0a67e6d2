// The training status line on stderr: step, epoch, loss, logit scale, learning rate, throughput
// and time left. Same conventions as src/cli/progress.ts (whose stream type and duration format
// it uses): redrawn in place on a terminal, a plain line every few seconds in logs.
import { formatDuration, type ProgressStream } from '../cli/progress.js';
import type { StepInfo } from './trainer.js';

export function formatStepLine(s: StepInfo): string {
  const loss = Number.isFinite(s.loss) ? s.loss.toFixed(4) : String(s.loss);
  return [
    `step ${s.step}/${s.totalSteps}`,
    `epoch ${s.epoch}`,
    `loss ${loss}`,
    `scale ${Math.exp(s.logitScale).toFixed(2)}`,
    `lr ${s.lr.toExponential(2)}`,
    `${s.samplesPerSecond >= 100 ? s.samplesPerSecond.toFixed(0) : s.samplesPerSecond.toFixed(1)} samples/s`,
    `ETA ${formatDuration(s.etaSeconds)}`,
    ...(s.skippedSamples > 0 ? [`skipped ${s.skippedSamples}`] : []),
  ].join('  ');
}

export class TrainProgressLine {
  private last = -Infinity;
  private width = 0;
  private readonly tty: boolean;

  constructor(private readonly stream: ProgressStream = process.stderr, private readonly lineMs = 5000,
    private readonly now: () => number = () => performance.now()) {
    this.tty = stream.isTTY === true;
  }

  update(s: StepInfo): void {
    const t = this.now();
    const final = s.step >= s.totalSteps;
    if (!final && t - this.last < (this.tty ? 100 : this.lineMs)) return;
    this.last = t;
    this.write(formatStepLine(s));
  }

  /** A line that must not be overwritten (an evaluation, a checkpoint, a warning). */
  note(text: string): void {
    this.clear();
    this.stream.write(text + '\n');
  }

  private write(text: string): void {
    if (!this.tty) {
      this.stream.write(text + '\n');
      return;
    }
    const cols = this.stream.columns ?? 120;
    const shown = text.length >= cols ? text.slice(0, cols - 1) : text;
    this.stream.write('\r' + shown + ' '.repeat(Math.max(0, this.width - shown.length)));
    this.width = shown.length;
  }

  clear(): void {
    if (this.tty && this.width > 0) {
      this.stream.write('\r' + ' '.repeat(this.width) + '\r');
      this.width = 0;
    }
  }

  finish(): void {
    if (this.tty && this.width > 0) this.stream.write('\n');
    this.width = 0;
  }
}
