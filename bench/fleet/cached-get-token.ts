// Row "cached GetToken vs a bare grpc-js server": the existing benchmark
// (`npm run bench`, bench/get-token-throughput.ts) run as is; its ratio is read
// from what it prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onEmergency } from './fleet.js';
import type { Row } from './report.js';

export const cachedGetTokenRow: Row = async () => {
  const script = fileURLToPath(new URL('../get-token-throughput.js', import.meta.url));
  const child = spawn(process.execPath, [script, '5', '64'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const forget = onEmergency(() => child.kill('SIGKILL'));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  forget();
  const ratio = /ratio broker\/bare\s*:\s*([\d.]+)/.exec(stdout)?.[1];
  if (code !== 0 || ratio === undefined) throw new Error(`get-token-throughput exited ${String(code)}:\n${stdout}`);
  return [{ figure: 'cached GetToken vs bare grpc-js (unix socket, 64 in flight)', value: ratio, target: '>= 0.95', pass: Number(ratio) >= 0.95 }];
};
