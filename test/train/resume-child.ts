// Child process of resume.test.ts: trains the run described by the JSON file in argv[2] and, once
// the checkpoint of step `killAfter` is on disk, reports it on stdout and blocks, so the parent can
// kill it with SIGKILL at a known point (after that checkpoint, before the run ends).
// `node --test dist/test/` also runs every .js file below a test folder; without a scenario file
// this module does nothing.
import { readFileSync } from 'node:fs';
import { resumeScenario, type ResumeScenario } from './resume-scenario.js';

const file = process.argv[2];
if (file !== undefined && file.endsWith('.json')) {
  const scenario = JSON.parse(readFileSync(file, 'utf8')) as ResumeScenario;
  await resumeScenario(scenario, {
    onCheckpoint: (step) => {
      if (step !== scenario.killAfter) return;
      process.stdout.write(`checkpoint ${step}\n`);
      // Block this thread (no further steps) until the parent kills the process.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    },
  });
  process.stdout.write('finished without being killed\n');
}
