// Linear-probe fit time: clip-ts's L-BFGS logistic regression against scikit-learn 1.2.1's
// LogisticRegression(C, max_iter=1000) (bench/python/probe_sklearn.py) on the same features and C:
// 10,000 × 512 training features, 100 classes (deterministic Gaussian clusters, written to a temp
// folder the peer reads), 5,000 test features. Reports the fit-time ratio (medians), the objective
// each solver reached, the test accuracies and how far apart the two solutions are.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fitLogisticRegression, type FitResult } from '../src/eval/logistic-regression.js';
import { top1Accuracy } from '../src/eval/metrics.js';
import { SeededRandom } from '../src/image/index.js';
import { packageRoot } from '../src/paths.js';
import { native } from '../src/tensor/index.js';
import { fmt, hasPythonModule, median, runPython } from './common.js';

const CLASSES = Number(process.env.BENCH_PROBE_CLASSES ?? 100);
const DIM = Number(process.env.BENCH_PROBE_DIM ?? 512);
const N_TRAIN = Number(process.env.BENCH_PROBE_TRAIN ?? 10000);
const N_TEST = Number(process.env.BENCH_PROBE_TEST ?? 5000);
const C = Number(process.env.BENCH_PROBE_C ?? 1);
const REPS = Number(process.env.BENCH_REPS ?? 5);
/** Distance scale of the class centres against unit noise: overlapping classes, as real features. */
const SPREAD = Number(process.env.BENCH_PROBE_SPREAD ?? 0.2);

function gaussian(rng: SeededRandom): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Rows cycle through the classes; centres and noise come from one seeded stream. */
function makeData(): { trainX: Float32Array; trainY: Int32Array; testX: Float32Array; testY: Int32Array } {
  const rng = new SeededRandom(2021);
  const centres = Float64Array.from({ length: CLASSES * DIM }, () => SPREAD * gaussian(rng));
  const draw = (n: number): { x: Float32Array; y: Int32Array } => {
    const x = new Float32Array(n * DIM);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % CLASSES;
      y[i] = c;
      for (let d = 0; d < DIM; d++) x[i * DIM + d] = centres[c * DIM + d] + gaussian(rng);
    }
    return { x, y };
  };
  const tr = draw(N_TRAIN);
  const te = draw(N_TEST);
  return { trainX: tr.x, trainY: tr.y, testX: te.x, testY: te.y };
}

function bytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

interface PeerResult { times_ms: number[]; n_iter: number; objective: number; test_accuracy: number; sklearn: string }

async function main(): Promise<void> {
  const data = makeData();
  const train = { data: Float64Array.from(data.trainX), rows: N_TRAIN, dim: DIM };
  const test = { data: data.testX, rows: N_TEST, dim: DIM };
  process.stderr.write(`bench/probe: ${N_TRAIN} × ${DIM} training features, ${CLASSES} classes, C = ${C}, ${native().getThreads()} threads\n`);

  const havePeer = hasPythonModule('sklearn');
  const dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-bench-probe-'));
  try {
    writeFileSync(path.join(dir, 'train_x.f32'), bytes(data.trainX));
    writeFileSync(path.join(dir, 'train_y.i32'), bytes(data.trainY));
    writeFileSync(path.join(dir, 'test_x.f32'), bytes(data.testX));
    writeFileSync(path.join(dir, 'test_y.i32'), bytes(data.testY));
    const script = path.join(packageRoot(), 'bench', 'python', 'probe_sklearn.py');
    // Our fits and the peer's alternate, one each per round, so that a change in machine load
    // during the run hits both sides alike.
    const times: number[] = [];
    const peerTimes: number[] = [];
    let fit: FitResult | undefined;
    let peer: PeerResult | undefined;
    for (let r = 0; r < REPS; r++) {
      const t0 = process.hrtime.bigint();
      fit = fitLogisticRegression(train, data.trainY, CLASSES, { C, maxIterations: 1000, tol: 1e-4 });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (havePeer) {
        peer = runPython<PeerResult>(script, [dir, String(N_TRAIN), String(N_TEST), String(DIM), String(C), '1']);
        peerTimes.push(...peer.times_ms);
      }
    }
    const ours = fit as FitResult;
    const ourAcc = top1Accuracy(ours.model.predict(test), data.testY);
    const rows: string[] = [
      `| solver | fit time (median of ${REPS}) | iterations | objective reached | test top-1 |`,
      '| --- | ---: | ---: | ---: | ---: |',
      `| clip-ts (TypeScript L-BFGS + native float64 GEMM) | ${fmt(median(times) / 1000, 2)} s | ${ours.report.iterations} | ${ours.report.objective.toFixed(4)} | ${fmt(ourAcc)} % |`,
    ];
    const notes: string[] = [];
    if (peer === undefined) {
      notes.push('scikit-learn is not installed for the peer Python (sudo apt-get install python3-sklearn): peer skipped.');
    } else {
      const coefBuf = readFileSync(path.join(dir, 'sklearn_coef.f64'));
      const theirs = new Float64Array(coefBuf.buffer.slice(coefBuf.byteOffset, coefBuf.byteOffset + coefBuf.byteLength));
      let diff2 = 0;
      let ref2 = 0;
      for (let i = 0; i < theirs.length; i++) {
        diff2 += (ours.model.coef[i] - theirs[i]) ** 2;
        ref2 += theirs[i] ** 2;
      }
      rows.push(`| scikit-learn ${peer.sklearn} LogisticRegression(C=${C}, max_iter=1000) | ${fmt(median(peerTimes) / 1000, 2)} s | ${peer.n_iter} | ${peer.objective.toFixed(4)} | ${fmt(peer.test_accuracy)} % |`);
      notes.push(`fit-time ratio scikit-learn / clip-ts: **${fmt(median(peerTimes) / median(times))}×** (above 1: clip-ts is faster)`);
      notes.push(`per-round times (s), clip-ts: ${times.map((t) => fmt(t / 1000)).join(', ')}; scikit-learn: ${peerTimes.map((t) => fmt(t / 1000)).join(', ')}`);
      notes.push(`objective: clip-ts − scikit-learn = ${(ours.report.objective - peer.objective).toExponential(2)} (relative ${((ours.report.objective - peer.objective) / peer.objective).toExponential(2)})`);
      notes.push(`test accuracy difference (clip-ts − scikit-learn): ${fmt(ourAcc - peer.test_accuracy)} points`);
      notes.push(`coefficients: ‖W_clip-ts − W_sklearn‖ / ‖W_sklearn‖ = ${Math.sqrt(diff2 / ref2).toExponential(2)}`);
    }
    process.stdout.write(rows.join('\n') + '\n\n' + notes.map((n) => `- ${n}`).join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
