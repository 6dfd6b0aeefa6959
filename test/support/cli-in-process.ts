// The `token-broker` command line run in the test's own process (runCli of
// src/cli/program.ts with a captured terminal): for tests of what a command
// says and returns, without the second or so a new Node process costs. The
// tests of the process itself (exit codes through main.js, signals, stdin)
// run the real binary (daemon-process.ts).
import { runCli } from '../../src/cli/program.js';
import type { CliResult } from './daemon-process.js';

/** Runs one command with `env` set on top of process.env for its duration (tests of one file run one at a time). */
export async function runCliInProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  let stdout = '';
  let stderr = '';
  try {
    const code = await runCli(args, { out: (line) => (stdout += `${line}\n`), err: (line) => (stderr += `${line}\n`) });
    return { code, stdout, stderr };
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
