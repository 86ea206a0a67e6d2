// Worker-thread entry of the batch loader: runs image tasks as they arrive and posts the tensors
// back, transferring (not copying) their buffers. JPEGs are decoded in this thread (a worker has
// nothing else to do meanwhile); several tasks may be in flight at once, so that the next file is
// read (and, if sharp decodes it, decoded on libuv's thread pool) while this thread works.
import { parentPort } from 'node:worker_threads';
import { runImageTask } from './image-task.js';
import type { WorkerMessage, WorkerReply } from './worker-pool.js';

if (parentPort === null) throw new Error('decode-worker.js must be started as a worker thread');
const port = parentPort;

port.on('message', ({ seq, task }: WorkerMessage) => {
  void runImageTask(task, true).then((result) => {
    const reply: WorkerReply = { seq, result };
    if (result.ok) port.postMessage(reply, [result.tensor.buffer as ArrayBuffer]);
    else port.postMessage(reply);
  });
});
