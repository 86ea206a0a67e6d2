// metrics.jsonl: one JSON object per line, `kind` "train" (every few steps) or "eval". Lines are
// appended as training goes, so a crash loses at most the line being written; on resume the lines
// after the checkpoint's step are dropped (they will be produced again), so the log describes one
// consistent run.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeTextAtomic } from '../weights/atomic-file.js';

export interface TrainMetrics {
  kind: 'train';
  step: number;
  epoch: number;
  /** Mean loss over the steps since the previous train line. */
  loss: number;
  lr: number;
  /** The learned logit_scale (log of the inverse temperature), after the step. */
  logit_scale: number;
  grad_norm: number;
  samples_per_second: number;
  samples_seen: number;
  skipped_samples: number;
  elapsed_seconds: number;
}

export interface EvalMetrics {
  kind: 'eval';
  step: number;
  /** Zero-shot accuracy in percent, when a labelled set is evaluated. */
  zeroshot_top1?: number;
  zeroshot_top5?: number;
  /** Retrieval recall in percent on the held-out pairs. */
  image_to_text_r1?: number;
  image_to_text_r5?: number;
  text_to_image_r1?: number;
  text_to_image_r5?: number;
  /** Mean contrastive loss on the held-out pairs (batches of the training size). */
  val_loss?: number;
}

export type MetricsRow = TrainMetrics | EvalMetrics;

export class MetricsLog {
  constructor(readonly file: string) {}

  append(row: MetricsRow): void {
    appendFileSync(this.file, JSON.stringify(row) + '\n');
  }

  /** Every row, skipping a torn last line (a crash while appending). */
  read(): MetricsRow[] {
    if (!existsSync(this.file)) return [];
    const rows: MetricsRow[] = [];
    const lines = readFileSync(this.file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        rows.push(JSON.parse(line) as MetricsRow);
      } catch (err) {
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== '')) {
          throw new Error(`${this.file} line ${i + 1}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
        }
      }
    });
    return rows;
  }

  /** Keeps only the rows of steps ≤ `step` (rewritten atomically). */
  truncateAfter(step: number): void {
    if (!existsSync(this.file)) return;
    const rows = this.read().filter((r) => r.step <= step);
    writeTextAtomic(this.file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}
