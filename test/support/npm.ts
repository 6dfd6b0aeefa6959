// Running npm itself from a test, as a person at a shell would: the packed
// install and the install-script policy are npm's behaviour, not ours, so the
// tests ask the real npm of the machine.
import { spawn } from 'node:child_process';

export interface NpmResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** npm 11's line for a dependency install script that no allowScripts entry approves or denies. */
export const UNCOVERED_INSTALL_SCRIPTS = /not yet covered by allowScripts/;

/**
 * npm settings that say where things are on this machine (its cache, its
 * registry, its config files, node's headers for node-gyp); kept when the
 * test runs under `npm test`. Every other npm_* variable that `npm run`
 * exports describes the repo's own npm run: npm_config_loglevel=silent would
 * hide the very warning a test looks for, npm_config_local_prefix would make
 * the repo the project of an install meant to happen elsewhere, and
 * npm_package_version is the repo's version.
 */
const KEPT_NPM_VARIABLES = new Set([
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_globalconfig',
  'npm_config_registry',
  'npm_config_cafile',
  'npm_config_nodedir',
  'npm_config_proxy',
  'npm_config_https_proxy',
  'npm_config_noproxy',
]);

/** The environment of this process without what `npm run` added for the repo's own scripts. */
export function cleanNpmEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const lower = name.toLowerCase();
    if ((lower.startsWith('npm_') && !KEPT_NPM_VARIABLES.has(lower)) || name === 'INIT_CWD') continue;
    environment[name] = value;
  }
  return { ...environment, ...extra };
}

export interface RunNpmOptions {
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each chunk of output, for progress on long runs. */
  readonly onOutput?: (text: string) => void;
}

/** Runs `npm ARGS` in `cwd` with a clean environment; rejects when it does not finish in time. */
export function runNpm(args: readonly string[], options: RunNpmOptions): Promise<NpmResult> {
  return runProgram('npm', args, { ...options, env: cleanNpmEnvironment(options.env) });
}

/** Runs an installed program (a global bin) with a clean environment. */
export function runProgram(program: string, args: readonly string[], options: RunNpmOptions): Promise<NpmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env ?? cleanNpmEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onOutput?.(chunk.toString());
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onOutput?.(chunk.toString());
    });
    // Not a sleep: the wait is on 'close' below; this only bounds it, so a hung npm fails the test with its output.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} ${args.join(' ')} did not finish in ${options.timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Whether the npm registry answers (`npm ping`): the packed install fetches
 * the package's dependencies from it, or at least checks the cached ones.
 * Returns the reason when it does not.
 */
export async function registryUnreachable(cwd: string): Promise<string | undefined> {
  try {
    const result = await runNpm(['ping', '--fetch-retries=0', '--fetch-timeout=15000'], { cwd, timeoutMs: 60_000 });
    if (result.code === 0) return undefined;
    // npm's first error lines name the cause (code, errno, the failed request); the rest is advice.
    const cause = result.stderr
      .split('\n')
      .filter((line) => /^npm error (code|errno|network request)/.test(line))
      .join('; ');
    return `npm ping exited ${String(result.code)}: ${cause || result.stderr.trim().split('\n')[0]}`;
  } catch (error) {
    return `npm ping failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}
