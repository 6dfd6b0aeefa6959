// Benchmark: what one new TLS connection to an authorization server with a
// caFile costs the broker's event loop, with `ca` handed to every connection
// (before: a TLS context built from ~140 roots each time) and with one shared
// context (after), plus requests on kept connections through HttpTransport.
// The sandbox runs in its own process so only the client's work is counted;
// each variant runs in a fresh process so RSS growth is its own. Prints
// figures and ratios; not a test.
//
//   npm run build && node dist/bench/tls-connect-cost.js [connections]
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { HttpTransport } from '../src/http/index.js';

const VARIANTS = ['ca-per-connection', 'shared-context', 'kept-connections'] as const;
type Variant = (typeof VARIANTS)[number];

interface Figures {
  readonly variant: Variant;
  /** Client CPU (user + system) per request, ms. */
  readonly cpuMs: number;
  /** Event-loop busy time per request, ms: wall time, so it also counts time the process waited for a core. */
  readonly eventLoopMs: number;
  /** RSS growth per request after a full GC, KiB. */
  readonly rssKiB: number;
}

async function runVariant(variant: Variant, url: string, caFile: string, count: number): Promise<Figures> {
  const extraCa = await readFile(caFile, 'utf8');
  let request: () => Promise<void>;
  let close: () => Promise<void>;
  if (variant === 'kept-connections') {
    const transport = new HttpTransport();
    request = async () => {
      await transport.send({ method: 'GET', url: `${url}/` }, { caCertificates: [extraCa] });
    };
    close = () => transport.close();
  } else {
    const connect = variant === 'ca-per-connection' ? { ca: [...tls.rootCertificates, extraCa] } : { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, extraCa] }) };
    const agent = new Agent({ connect });
    const origin = new URL(url).origin;
    request = async () => {
      // `reset`: the connection closes after the answer, so every request opens a new one, as between two sweeps before.
      const { body } = await agent.request({ origin, path: '/', method: 'GET', reset: true });
      await body.text();
    };
    close = () => agent.close();
  }
  // Warm: modules loaded, the shared context built, JIT settled.
  for (let i = 0; i < 5; i++) await request();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  for (let i = 0; i < count; i++) await request();
  const elu = performance.eventLoopUtilization(eluBefore);
  const cpu = process.cpuUsage(cpuBefore);
  gc?.();
  const rssAfter = process.memoryUsage().rss;
  await close();
  return {
    variant,
    cpuMs: (cpu.user + cpu.system) / 1000 / count,
    eventLoopMs: elu.active / count,
    rssKiB: (rssAfter - rssBefore) / 1024 / count,
  };
}

async function startSandboxProcess(): Promise<{ url: string; caFile: string; stop: () => void }> {
  const main = fileURLToPath(new URL('../src/sandbox/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let url: string | undefined;
  let caFile: string | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    url ??= /^sandbox authorization server: (\S+)/.exec(line)?.[1];
    caFile ??= /^CA certificate: (\S+)/.exec(line)?.[1];
    if (url !== undefined && caFile !== undefined) break;
  }
  if (url === undefined || caFile === undefined) throw new Error('the sandbox did not print its URL and CA file');
  return { url, caFile, stop: () => child.kill('SIGTERM') };
}

function runChild(variant: Variant, url: string, caFile: string, count: number): Promise<Figures> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--expose-gc', self, '--variant', variant, url, caFile, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output) as Figures) : reject(new Error(`${variant}: exit ${String(code)}`))));
  });
}

if (process.argv[2] === '--variant') {
  const [variant, url, caFile, count] = process.argv.slice(3) as [Variant, string, string, string];
  process.stdout.write(JSON.stringify(await runVariant(variant, url, caFile, Number(count))));
} else {
  const count = Number(process.argv[2] ?? 200);
  const sandbox = await startSandboxProcess();
  try {
    const results = new Map<Variant, Figures>();
    // One at a time: two cores, and each figure should be its own.
    for (const variant of VARIANTS) results.set(variant, await runChild(variant, sandbox.url, sandbox.caFile, count));
    const fixed = (value: number, digits = 2): string => value.toFixed(digits).padStart(8);
    console.log(`${count} requests per variant to the sandbox (caFile route, ${tls.rootCertificates.length} system roots), client side only`);
    console.log(`${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1) ?? '?'}: event-loop figures are wall time and grow with the load, CPU figures do not`);
    console.log('variant               cpu ms/req   event loop ms/req   RSS KiB/req');
    for (const figures of results.values()) {
      console.log(`${figures.variant.padEnd(20)}  ${fixed(figures.cpuMs)}     ${fixed(figures.eventLoopMs)}            ${fixed(figures.rssKiB, 1)}`);
    }
    const before = results.get('ca-per-connection');
    const after = results.get('shared-context');
    const kept = results.get('kept-connections');
    if (before !== undefined && after !== undefined && kept !== undefined) {
      const ratio = (a: Figures, b: Figures): string => `CPU ${(a.cpuMs / b.cpuMs).toFixed(1)}x, event loop ${(a.eventLoopMs / b.eventLoopMs).toFixed(1)}x`;
      console.log(`new connection, ca per connection / shared context: ${ratio(before, after)}`);
      console.log(`new connection with the shared context / request on a kept connection: ${ratio(after, kept)}`);
      console.log(`before (new connection, ca per connection) / after (kept connection): ${ratio(before, kept)}`);
    }
  } finally {
    sandbox.stop();
  }
}
