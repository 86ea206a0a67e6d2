// Admission control for inference: at most `maxConcurrent` jobs run at once, at most `maxQueued`
// more wait, and the rest are refused at once with 503 + Retry-After instead of piling up memory
// and latency. Every job has a deadline covering its wait and its run. A job that times out or
// whose client went away is answered (or dropped) immediately, but keeps its slot until it really
// finishes, so that abandoned work cannot push the model worker past the limit.
import { ApiError } from './api-error.js';

export interface JobQueueLimits {
  /** Jobs running at once. */
  maxConcurrent: number;
  /** Jobs waiting for a slot; one more is refused with 503. */
  maxQueued: number;
  /** Milliseconds from admission to result; past it the request gets 503 inference_timeout. */
  timeoutMs: number;
}

export interface JobQueueStats {
  running: number;
  queued: number;
  /** Jobs refused because the queue was full, since start. */
  rejected: number;
  /** Jobs that ran past their deadline, since start. */
  timedOut: number;
}

/** A job receives a signal that is aborted when its result is no longer wanted. */
export type Job<T> = (signal: AbortSignal) => Promise<T>;

interface Waiter {
  start: () => void;
  cancel: (err: ApiError) => void;
}

const RETRY_AFTER_SECONDS = '1';

function overloaded(message: string): ApiError {
  return new ApiError(503, 'overloaded', message, { 'Retry-After': RETRY_AFTER_SECONDS });
}

export class JobQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;
  private rejected = 0;
  private timedOut = 0;

  constructor(private readonly limits: JobQueueLimits) {
    for (const [name, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < (name === 'maxQueued' ? 0 : 1)) throw new RangeError(`job queue: ${name} must be a ${name === 'maxQueued' ? 'non-negative' : 'positive'} integer, got ${v}`);
    }
  }

  stats(): JobQueueStats {
    return { running: this.running, queued: this.waiting.length, rejected: this.rejected, timedOut: this.timedOut };
  }

  /**
   * Runs `job` when a slot is free. Rejects with ApiError 503 when the queue is full, the deadline
   * passes or the queue is closed, and with `requestSignal`'s reason when the caller gives up.
   */
  run<T>(job: Job<T>, requestSignal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new ApiError(503, 'shutting_down', 'the server is shutting down'));
    if (this.running >= this.limits.maxConcurrent && this.waiting.length >= this.limits.maxQueued) {
      this.rejected++;
      return Promise.reject(overloaded(`too many requests: ${this.running} inference jobs running and ${this.waiting.length} waiting; retry shortly`));
    }
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      let settled = false;
      let waiter: Waiter | undefined;
      const finish = (err: unknown, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        requestSignal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(value as T);
        else reject(err);
      };
      const giveUp = (err: ApiError | Error): void => {
        if (waiter !== undefined) {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
        }
        controller.abort(err);
        finish(err);
      };
      const timer = setTimeout(() => {
        this.timedOut++;
        giveUp(new ApiError(503, 'inference_timeout', `the request took longer than ${this.limits.timeoutMs} ms`, { 'Retry-After': RETRY_AFTER_SECONDS }));
      }, this.limits.timeoutMs);
      const onAbort = (): void => giveUp(requestSignal?.reason instanceof Error ? requestSignal.reason : new Error('request aborted'));
      if (requestSignal !== undefined) {
        if (requestSignal.aborted) {
          onAbort();
          return;
        }
        requestSignal.addEventListener('abort', onAbort, { once: true });
      }
      const start = (): void => {
        this.running++;
        let result: Promise<T>;
        try {
          result = job(controller.signal);
        } catch (err) {
          result = Promise.reject(err);
        }
        result.then((v) => finish(undefined, v), (err: unknown) => finish(err ?? new Error('job failed')))
          .finally(() => this.release());
      };
      if (this.running < this.limits.maxConcurrent) {
        start();
      } else {
        waiter = { start, cancel: (err) => giveUp(err) };
        this.waiting.push(waiter);
      }
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next !== undefined) next.start();
    else if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Refuses new jobs and the waiting ones (503), then resolves once the running ones finished. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.cancel(new ApiError(503, 'shutting_down', 'the server is shutting down'));
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
