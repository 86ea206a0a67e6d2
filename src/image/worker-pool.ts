// A small pool of decode workers. Tasks go to the least busy worker; a worker that dies (crash,
// out of memory) fails only its own tasks and is replaced on the next submission. Idle workers are
// unref'd, so a pool that is never closed does not keep the process alive.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../util/worker-thread.js';
import { runImageTask, type ImageTask, type ImageTaskResult } from './image-task.js';

interface Slot {
  worker: Worker;
  /** Tasks sent to this worker, by message sequence number (not task id: ids may repeat across runs). */
  pending: Map<number, { id: number; resolve: (r: ImageTaskResult) => void }>;
  dead: boolean;
}

/** What crosses to the worker: the task under a pool-wide sequence number. */
export interface WorkerMessage {
  seq: number;
  task: ImageTask;
}

/** What comes back. */
export interface WorkerReply {
  seq: number;
  result: ImageTaskResult;
}

/** Runs image tasks with at most `perWorker` at a time per worker; later ones wait in a queue. */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { seq: number; task: ImageTask; resolve: (r: ImageTaskResult) => void }[] = [];
  private closed = false;
  private seq = 0;

  constructor(private readonly size: number, private readonly perWorker = 2) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`workers must be a positive integer, got ${size}`);
    if (!Number.isInteger(perWorker) || perWorker < 1) throw new RangeError(`perWorker must be a positive integer, got ${perWorker}`);
  }

  private spawn(): Slot {
    const worker = startModuleWorker(new URL('./decode-worker.js', import.meta.url));
    const slot: Slot = { worker, pending: new Map(), dead: false };
    const failAll = (why: string): void => {
      if (slot.dead) return;
      slot.dead = true;
      for (const { id, resolve } of slot.pending.values()) resolve({ id, ok: false, kind: 'internal', message: `decode worker died: ${why}` });
      slot.pending.clear();
      this.pump();
    };
    worker.on('message', (reply: WorkerReply) => {
      const entry = slot.pending.get(reply.seq);
      slot.pending.delete(reply.seq);
      // Idle workers must not keep the process alive once the loader is abandoned.
      if (slot.pending.size === 0) worker.unref();
      entry?.resolve(reply.result);
      this.pump();
    });
    worker.on('error', (err) => failAll(err.message));
    worker.on('exit', (code) => failAll(`exit code ${code}`));
    worker.unref();
    return slot;
  }

  /** Sends queued tasks to workers with free capacity (replacing dead workers first). */
  private pump(): void {
    if (this.closed) return;
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i].dead) this.slots[i] = this.spawn();
    while (this.slots.length < this.size) this.slots.push(this.spawn());
    while (this.queue.length > 0) {
      let best = this.slots[0];
      for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
      if (best.pending.size >= this.perWorker) return;
      const job = this.queue.shift();
      if (job === undefined) return;
      best.pending.set(job.seq, { id: job.task.id, resolve: job.resolve });
      best.worker.ref();
      const message: WorkerMessage = { seq: job.seq, task: job.task };
      best.worker.postMessage(message);
    }
  }

  run(task: ImageTask): Promise<ImageTaskResult> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    const seq = this.seq++;
    const done = new Promise<ImageTaskResult>((resolve) => this.queue.push({ seq, task, resolve }));
    this.pump();
    return done;
  }

  /** Drops the tasks that wait for a worker (they resolve as failed); running ones finish. */
  cancelQueued(): void {
    for (const job of this.queue.splice(0)) job.resolve({ id: job.task.id, ok: false, kind: 'internal', message: 'cancelled' });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ id: job.task.id, ok: false, kind: 'internal', message: 'worker pool closed' });
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

/** The same interface without threads: at most `concurrency` tasks at once in this thread. */
export class InThreadRunner {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  async run(task: ImageTask): Promise<ImageTaskResult> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await runImageTask(task);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
