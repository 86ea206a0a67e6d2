// Runs a model in a worker thread so that long inference never blocks the caller's event loop
// (a server stays responsive while a batch is encoded). The native core is context-aware and
// loads in workers; typed arrays cross the thread boundary by transfer, not copy.
import type { Worker } from 'node:worker_threads';
import type { MatmulPrecision } from '../tensor/index.js';
import { startModuleWorker } from '../util/worker-thread.js';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.js';

export interface ModelInfo {
  imageSize: number;
  contextLength: number;
  embedDim: number;
  description: string;
}

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };

export class ModelWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  info!: ModelInfo;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (msg: WorkerResponse) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.kind === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg);
    });
    const fail = (err: Error): void => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`model worker exited with code ${code}`));
    });
  }

  /** Starts a worker that loads the checkpoint at `modelPath`. */
  static async start(modelPath: string, opts: { precision?: MatmulPrecision; threads?: number } = {}): Promise<ModelWorker> {
    const w = new ModelWorker(startModuleWorker(new URL('./worker-entry.js', import.meta.url)));
    const r = await w.call({ id: 0, kind: 'load', path: modelPath, precision: opts.precision ?? 'fp32', threads: opts.threads ?? 0 }, []);
    if (r.kind !== 'loaded') throw new Error('model worker: unexpected reply to load');
    w.info = r.info;
    return w;
  }

  private call(req: WorkerRequest, transfer: ArrayBuffer[]): Promise<WorkerResponse> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const msg = { ...req, id };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Image features [n, embed] of preprocessed NCHW pixels. The pixel buffer is transferred (detached here). */
  async encodeImages(pixels: Float32Array): Promise<Float32Array> {
    const r = await this.call({ id: 0, kind: 'image', pixels }, [pixels.buffer as ArrayBuffer]);
    if (r.kind !== 'features') throw new Error('model worker: unexpected reply');
    return r.features;
  }

  /** Text features [n, embed] of [n, context] token ids. */
  async encodeTexts(tokens: Int32Array): Promise<Float32Array> {
    const r = await this.call({ id: 0, kind: 'text', tokens }, [tokens.buffer as ArrayBuffer]);
    if (r.kind !== 'features') throw new Error('model worker: unexpected reply');
    return r.features;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
