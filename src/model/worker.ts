// Runs a model in a worker thread so that long inference never blocks the caller's event loop
// (a server stays responsive while a batch is encoded). The native core is context-aware and
// loads in workers; typed arrays cross the thread boundary by transfer, not copy.
import type { Worker } from 'node:worker_threads';
import type { MatmulPrecision } from '../tensor/index.js';
import { startModuleWorker } from '../util/worker-thread.js';
import { WorkerRpc } from '../util/worker-rpc.js';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.js';

export interface ModelInfo {
  imageSize: number;
  contextLength: number;
  embedDim: number;
  description: string;
}

export class ModelWorker {
  private readonly rpc: WorkerRpc<WorkerRequest, WorkerResponse>;
  info!: ModelInfo;

  private constructor(worker: Worker) {
    this.rpc = new WorkerRpc(worker, {
      toError: (msg) => new Error(msg.message),
      // A clean exit is not a failure here: only a non-zero code fails what is in flight.
      exitError: (code) => (code !== 0 ? new Error(`model worker exited with code ${code}`) : null),
    });
  }

  /** Starts a worker that loads the checkpoint at `modelPath`. */
  static async start(modelPath: string, opts: { precision?: MatmulPrecision; threads?: number } = {}): Promise<ModelWorker> {
    const w = new ModelWorker(startModuleWorker(new URL('./worker-entry.js', import.meta.url)));
    const r = await w.rpc.request({ kind: 'load', path: modelPath, precision: opts.precision ?? 'fp32', threads: opts.threads ?? 0 });
    if (r.kind !== 'loaded') throw new Error('model worker: unexpected reply to load');
    w.info = r.info;
    return w;
  }

  /** Image features [n, embed] of preprocessed NCHW pixels. The pixel buffer is transferred (detached here). */
  async encodeImages(pixels: Float32Array): Promise<Float32Array> {
    const r = await this.rpc.request({ kind: 'image', pixels }, [pixels.buffer as ArrayBuffer]);
    if (r.kind !== 'features') throw new Error('model worker: unexpected reply');
    return r.features;
  }

  /** Text features [n, embed] of [n, context] token ids. */
  async encodeTexts(tokens: Int32Array): Promise<Float32Array> {
    const r = await this.rpc.request({ kind: 'text', tokens }, [tokens.buffer as ArrayBuffer]);
    if (r.kind !== 'features') throw new Error('model worker: unexpected reply');
    return r.features;
  }

  async close(): Promise<void> {
    await this.rpc.close();
  }
}
