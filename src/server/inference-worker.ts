// A model in a worker thread that takes what an HTTP request carries (texts, encoded image bytes,
// labels) rather than tensors: the main thread only parses requests and writes responses, while
// tokenising, decoding, preprocessing, both towers and prompt ensembling run in the worker.
// A sibling of ModelWorker (src/model/worker.ts), whose tensor-level API stays as it is.
import type { Worker } from 'node:worker_threads';
import type { ImageErrorKind } from '../image/index.js';
import type { ModelInfo } from '../model/worker.js';
import type { MatmulPrecision } from '../tensor/index.js';
import { startModuleWorker } from '../util/worker-thread.js';
import { WorkerRpc, type OkReply, type WithoutId } from '../util/worker-rpc.js';
import type { InferenceRequest, InferenceResponse } from './inference-protocol.js';

type InferenceReply = OkReply<InferenceResponse>;

/** A request failed because of its image (not decodable, too many pixels, ...). */
export class InferenceImageError extends Error {
  readonly kind: ImageErrorKind;

  constructor(message: string, kind: ImageErrorKind) {
    super(message);
    this.name = 'InferenceImageError';
    this.kind = kind;
  }
}

export interface InferenceWorkerOptions {
  precision?: MatmulPrecision;
  /** Compute threads of the native core (0: all cores). */
  threads?: number;
}

export class InferenceWorker {
  private readonly rpc: WorkerRpc<InferenceRequest, InferenceResponse>;
  info!: ModelInfo;

  private constructor(worker: Worker) {
    this.rpc = new WorkerRpc(worker, {
      // Image errors keep their kind: the server reports them to the client, not as a fault.
      toError: (msg) => msg.reason === 'image' ? new InferenceImageError(msg.message, msg.imageErrorKind) : new Error(msg.message),
      exitError: (code) => new Error(`inference worker exited with code ${code}`),
    });
  }

  /** Starts a worker that loads the checkpoint at `modelPath`; rejects if it cannot be loaded. */
  static async start(modelPath: string, opts: InferenceWorkerOptions = {}): Promise<InferenceWorker> {
    const w = new InferenceWorker(startModuleWorker(new URL('./inference-worker-entry.js', import.meta.url)));
    try {
      const r = await w.call({ kind: 'load', path: modelPath, precision: opts.precision ?? 'fp32', threads: opts.threads ?? 0 });
      if (r.kind !== 'loaded') throw new Error('inference worker: unexpected reply to load');
      w.info = r.info;
    } catch (err) {
      await w.close();
      throw err;
    }
    return w;
  }

  /** False once the thread died (crash, out of memory); every later call then rejects. */
  get alive(): boolean {
    return this.rpc.alive;
  }

  /** Requests waiting for an answer. */
  get inFlight(): number {
    return this.rpc.inFlight;
  }

  // Image bytes are copied, not transferred: they may be a view into a pooled Buffer.
  private call(req: WithoutId<InferenceRequest>): Promise<InferenceReply> {
    return this.rpc.request(req);
  }

  private static rows(r: InferenceReply, expected: number): Float32Array[] {
    if (r.kind !== 'vectors' || r.count !== expected) throw new Error('inference worker: unexpected reply');
    return Array.from({ length: r.count }, (_, i) => r.vectors.subarray(i * r.dim, (i + 1) * r.dim));
  }

  /** One L2-normalised vector per text (texts longer than the context are truncated). */
  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    return InferenceWorker.rows(await this.call({ kind: 'embed-texts', texts: [...texts] }), texts.length);
  }

  /** The L2-normalised vector of an encoded image; InferenceImageError if it cannot be decoded. */
  async embedImage(bytes: Uint8Array, name: string, maxPixels: number): Promise<Float32Array> {
    return InferenceWorker.rows(await this.call({ kind: 'embed-image', bytes, name, maxPixels }), 1)[0];
  }

  /** Every label with its zero-shot probability, best first. */
  async classify(bytes: Uint8Array, name: string, maxPixels: number, labels: readonly string[],
    templateSet: string, templates: readonly string[]): Promise<{ label: string; probability: number }[]> {
    const r = await this.call({ kind: 'classify', bytes, name, maxPixels, labels: [...labels], templateSet, templates: [...templates] });
    if (r.kind !== 'predictions') throw new Error('inference worker: unexpected reply');
    return r.predictions;
  }

  async close(): Promise<void> {
    await this.rpc.close();
  }
}
