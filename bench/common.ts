// Timing helpers shared by the benchmark modules: medians of repeated runs, never a lone time.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The Python that has Debian's python3-torch & co.: $CLIP_TS_PYTHON, else /usr/bin/python3 (a
 * `python3` earlier on PATH, such as a pyenv one, does not see Debian's dist-packages).
 */
export const PYTHON = process.env.CLIP_TS_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** Runs fn `warmup` times, then `reps` times, and returns the per-run times in milliseconds. */
export async function timeRuns(fn: () => unknown | Promise<unknown>, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The environment for a Python peer. `tuned` gives it its best setting on this machine: OpenBLAS's
 * own CPU detection (its AVX-512 kernels; the machine's OPENBLAS_CORETYPE=Haswell forces AVX2), and
 * glibc malloc kept from returning large blocks to the OS (a first-touch page fault costs tens of
 * µs here, so a freshly mapped 39 MB tensor costs ~0.3 s; PyTorch frees to the OS every iteration
 * unless told not to — clip-ts's addon makes the same malloc setting in-process).
 */
export function pythonEnv(tuned: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (tuned) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    env.MALLOC_ARENA_MAX = '1';
    env.MALLOC_MMAP_MAX_ = '0';
    env.MALLOC_TRIM_THRESHOLD_ = String(2 ** 36);
  }
  return env;
}

/** Runs a Python peer script and parses the JSON it prints on its last stdout line. */
export function runPython<T>(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${script} failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** True when `PYTHON -c "import <module>"` works (so a peer can be skipped with a note when absent). */
export function hasPythonModule(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/**
 * This process's peak resident memory in MB. Linux's getrusage() maxrss (process.resourceUsage)
 * survives exec: a child spawned by a large parent reports the parent's size at fork time when
 * that is larger (a bench-spawned child once "peaked" at 1,966 MB that way). VmHWM in
 * /proc/self/status belongs to the current address space only; elsewhere maxrss is the fallback.
 */
export function peakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
