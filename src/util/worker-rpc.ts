// Request/response over a worker thread: each request gets an id, and the thread's reply with that
// id settles the caller's promise. ModelWorker (tensors in, features out) and InferenceWorker
// (HTTP-level inputs) speak different protocols over the same plumbing; this class holds that
// plumbing once, so that a fix to it (say, how a dying thread fails what is in flight) reaches
// both. Each protocol is a union of messages that carry `id` and `kind`; a reply of kind 'error'
// rejects, and the owner decides which Error it becomes.
import type { TransferListItem, Worker } from 'node:worker_threads';

/** Distributes over a request union's `kind`, so that Omit keeps each variant's own fields. */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The reply variants that carry an error; they reject instead of resolving. */
export type ErrorReply<Res> = Extract<Res, { kind: 'error' }>;

/** The reply variants a request resolves with. */
export type OkReply<Res> = Exclude<Res, { kind: 'error' }>;

export interface WorkerRpcOptions<Res> {
  /** The Error that an error reply rejects its request with. */
  toError: (reply: ErrorReply<Res>) => Error;
  /**
   * The Error that the thread's exit fails every request with, or null to leave an exit with this
   * code unremarked (the thread is still considered alive then).
   */
  exitError: (code: number) => Error | null;
}

type Pending<Res> = { resolve: (r: OkReply<Res>) => void; reject: (e: Error) => void };

export class WorkerRpc<Req extends { id: number }, Res extends { id: number; kind: string }> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(worker: Worker, opts: WorkerRpcOptions<Res>) {
    this.worker = worker;
    worker.on('message', (msg: Res) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.kind === 'error') p.reject(opts.toError(msg as ErrorReply<Res>));
      else p.resolve(msg as OkReply<Res>);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      const err = opts.exitError(code);
      if (err !== null) this.fail(err);
    });
  }

  // The first failure is kept: a crash emits 'error' and then 'exit', and the crash's own message
  // says more to a later caller than the exit code that follows it.
  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** False once the thread died (crash, out of memory); every later request then rejects. */
  get alive(): boolean {
    return this.failure === null;
  }

  /** Requests waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Posts `req` with a fresh id. Buffers in `transfer` move to the thread (detached here); anything
   * else is copied.
   */
  request(req: WithoutId<Req>, transfer: readonly TransferListItem[] = []): Promise<OkReply<Res>> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const msg = { ...req, id };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
