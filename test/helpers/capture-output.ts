// Captures what a command writes to stdout and stderr while it runs in-process. Only string
// chunks are captured: the test runner's own reports to its parent go through the same streams as
// binary chunks while a test awaits, and are passed on untouched.
import { runCli } from '../../src/cli/main.js';

export interface Captured<T> {
  result: T;
  stdout: string;
  stderr: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Write = typeof process.stdout.write;

function capturing(sink: string[], orig: Write, stream: NodeJS.WriteStream): Write {
  return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string') {
      sink.push(chunk);
      return true;
    }
    return (orig as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
  }) as Write;
}

export async function captureOutput<T>(fn: () => Promise<T>): Promise<Captured<T>> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write;
  const origErr = process.stderr.write;
  process.stdout.write = capturing(out, origOut, process.stdout);
  process.stderr.write = capturing(err, origErr, process.stderr);
  try {
    const result = await fn();
    return { result, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
}

/** `clip-ts ARGV` through the dispatcher, with its exit code and output. */
export async function runCliCaptured(argv: string[]): Promise<CliResult> {
  const { result, stdout, stderr } = await captureOutput(() => runCli(argv));
  return { code: result, stdout, stderr };
}
