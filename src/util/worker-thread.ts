// Starts a worker thread on a module that sits next to the caller, both in the compiled package
// (`x.js`) and when running the TypeScript sources under tsx (`x.ts`): Node 20 cannot start a
// worker on a `.ts` file even with tsx's `--import` flag, so there a small bootstrap registers
// tsx's loader inside the worker before importing the module.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `jsUrl`: the compiled module, e.g. `new URL('./decode-worker.js', import.meta.url)`. */
export function startModuleWorker(jsUrl: URL, options: WorkerOptions = {}): Worker {
  if (existsSync(fileURLToPath(jsUrl))) return new Worker(jsUrl, options);
  const ts = new URL(jsUrl.href.replace(/\.js$/, '.ts'));
  if (!existsSync(fileURLToPath(ts))) throw new Error(`worker module not found: ${fileURLToPath(jsUrl)}`);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(code, { ...options, eval: true, execArgv: [] });
}
