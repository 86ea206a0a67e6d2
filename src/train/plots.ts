// Training curves from metrics.jsonl, as SVG and PNG (src/eval/plot.ts): loss, learning rate,
// logit scale and the evaluation figures against the step. Long runs are thinned to a few hundred
// points per curve (means over equal step ranges) so the files stay small and readable.
import path from 'node:path';
import { niceTicks, writePlot, type PlotPoint, type PlotSeries } from '../eval/plot.js';
import type { EvalMetrics, MetricsRow, TrainMetrics } from './metrics-log.js';

const MAX_POINTS = 300;

/** Averages consecutive points into at most `max` buckets of equal step range. */
export function thin(points: PlotPoint[], max = MAX_POINTS): PlotPoint[] {
  if (points.length <= max) return points;
  const x0 = points[0].x;
  const span = points[points.length - 1].x - x0 || 1;
  const sums = new Map<number, { x: number; y: number; n: number }>();
  for (const p of points) {
    const b = Math.min(max - 1, Math.floor(((p.x - x0) / span) * max));
    const s = sums.get(b) ?? { x: 0, y: 0, n: 0 };
    s.x += p.x;
    s.y += p.y;
    s.n++;
    sums.set(b, s);
  }
  return [...sums.values()].map((s) => ({ x: s.x / s.n, y: s.y / s.n }));
}

function ticks(series: PlotSeries[]): number[] {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  return niceTicks(Math.min(...xs), Math.max(...xs), 8);
}

/** Writes loss, lr, logit-scale and (with evaluations) eval plots into `dir`; returns the SVG paths. */
export async function writeTrainingPlots(dir: string, rows: readonly MetricsRow[]): Promise<string[]> {
  const train = rows.filter((r): r is TrainMetrics => r.kind === 'train');
  const evals = rows.filter((r): r is EvalMetrics => r.kind === 'eval');
  const written: string[] = [];
  const plot = async (file: string, title: string, yLabel: string, series: PlotSeries[]): Promise<void> => {
    const shown = series.filter((s) => s.points.length > 0).map((s) => ({ ...s, points: thin(s.points) }));
    if (shown.length === 0) return;
    const target = path.join(dir, file);
    await writePlot(target, { title, xLabel: 'step', yLabel, series: shown, xTicks: ticks(shown) });
    written.push(target);
  };
  const pts = <R>(list: readonly R[], x: (r: R) => number, y: (r: R) => number | undefined): PlotPoint[] =>
    list.flatMap((r) => { const v = y(r); return v === undefined || !Number.isFinite(v) ? [] : [{ x: x(r), y: v }]; });
  await plot('loss.svg', 'Contrastive loss', 'loss', [
    { name: 'train', points: pts(train, (r) => r.step, (r) => r.loss) },
    { name: 'held-out', points: pts(evals, (r) => r.step, (r) => r.val_loss) },
  ]);
  await plot('lr.svg', 'Learning rate', 'learning rate', [{ name: 'lr', points: pts(train, (r) => r.step, (r) => r.lr) }]);
  await plot('logit-scale.svg', 'Logit scale exp(t) (inverse temperature)', 'exp(logit_scale)', [
    { name: 'exp(logit_scale)', points: pts(train, (r) => r.step, (r) => Math.exp(r.logit_scale)) },
  ]);
  await plot('eval.svg', 'Evaluation', 'percent', [
    { name: 'zero-shot top-1', points: pts(evals, (r) => r.step, (r) => r.zeroshot_top1) },
    { name: 'zero-shot top-5', points: pts(evals, (r) => r.step, (r) => r.zeroshot_top5) },
    { name: 'image→text R@1', points: pts(evals, (r) => r.step, (r) => r.image_to_text_r1) },
    { name: 'image→text R@5', points: pts(evals, (r) => r.step, (r) => r.image_to_text_r5) },
    { name: 'text→image R@1', points: pts(evals, (r) => r.step, (r) => r.text_to_image_r1) },
    { name: 'text→image R@5', points: pts(evals, (r) => r.step, (r) => r.text_to_image_r5) },
  ]);
  return written;
}
