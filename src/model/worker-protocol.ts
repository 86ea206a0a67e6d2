// Messages between ModelWorker and its worker thread.
import type { MatmulPrecision } from '../tensor/index.js';
import type { ModelInfo } from './worker.js';

export type WorkerRequest =
  | { id: number; kind: 'load'; path: string; precision: MatmulPrecision; threads: number }
  | { id: number; kind: 'image'; pixels: Float32Array }
  | { id: number; kind: 'text'; tokens: Int32Array };

export type WorkerResponse =
  | { id: number; kind: 'loaded'; info: ModelInfo }
  | { id: number; kind: 'features'; features: Float32Array }
  | { id: number; kind: 'error'; message: string };
