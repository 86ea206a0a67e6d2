// Worker-thread entry of the batch loader: runs image tasks as they arrive and posts the tensors
// back, transferring (not copying) their buffers. Several tasks may be in flight at once, so that
// sharp decodes the next file on libuv's thread pool while this thread resizes the previous one.
import { parentPort } from 'node:worker_threads';
import { runImageTask } from './image-task.js';
import type { WorkerMessage, WorkerReply } from './worker-pool.js';

if (parentPort === null) throw new Error('decode-worker.js must be started as a worker thread');
const port = parentPort;

port.on('message', ({ seq, task }: WorkerMessage) => {
  void runImageTask(task).then((result) => {
    const reply: WorkerReply = { seq, result };
    if (result.ok) port.postMessage(reply, [result.tensor.buffer as ArrayBuffer]);
    else port.postMessage(reply);
  });
});
