// Benchmark: cached GetToken on the real daemon vs a bare grpc-js server
// answering a constant message, same proto, same client, same unix socket
// transport. Target (project goal): ratio >= 0.85. A second daemon with
// metrics.listen set measures what the counters on the GetToken path cost
// (metrics on vs off). Prints figures; not a test.
//
//   npm run build && node dist/bench/get-token-throughput.js [seconds] [concurrency]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenBrokerClient } from '../src/client/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { startDaemonProcess } from '../test/support/daemon-process.js';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 64);

async function measure(address: string, mailbox: string): Promise<number> {
  const client = new TokenBrokerClient({ address });
  await client.getToken(mailbox); // warm: connection up, token cached
  const warmUntil = Date.now() + 1_000;
  let count = 0;
  let counting = false;
  let stopAt = warmUntil + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      await client.getToken(mailbox);
      if (counting) count++;
      else if (Date.now() >= warmUntil) {
        counting = true;
        stopAt = Date.now() + seconds * 1000;
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  client.close();
  const elapsed = (Date.now() - Math.max(started, warmUntil)) / 1000;
  return count / elapsed;
}

const directory = await mkdtemp(path.join(tmpdir(), 'tb-bench-'));
const sandbox = await startSandbox();
const tenantId = randomUUID();
const clientId = randomUUID();
sandbox.registerApplication({ tenantId, clientId, clientSecret: 'bench-secret' });
await writeFile(path.join(directory, 'ca.pem'), sandbox.caCertificatePem);
const brokerSocket = path.join(directory, 'broker.sock');
const bareSocket = path.join(directory, 'bare.sock');
const metricsSocket = path.join(directory, 'broker-metrics.sock');
const configFile = path.join(directory, 'broker.yaml');
const metricsConfigFile = path.join(directory, 'broker-metrics.yaml');
const brokerConfig = (socket: string, metrics: string): string => `server: { listen: ["unix://${socket}"] }
store: { url: "memory:" }
${metrics}authorizationServers:
  microsoft: { authorityHost: "${sandbox.url}", caFile: ca.pem }
mailboxes:
  bench:
    protocol: imap
    grantType: client-credentials
    tenantId: ${tenantId}
    clientId: ${clientId}
    clientSecret: bench-secret
    username: bench@contoso.example
`;
await writeFile(configFile, brokerConfig(brokerSocket, ''));
await writeFile(metricsConfigFile, brokerConfig(metricsSocket, `metrics: { listen: "127.0.0.1:0" }\n`));
const daemon = await startDaemonProcess(configFile, `unix://${brokerSocket}`, { TOKEN_BROKER_LOG_LEVEL: 'warn' });
const metricsDaemon = await startDaemonProcess(metricsConfigFile, `unix://${metricsSocket}`, { TOKEN_BROKER_LOG_LEVEL: 'warn' });
const bare = spawn(process.execPath, [fileURLToPath(new URL('./bare-server.js', import.meta.url)), bareSocket], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve) => bare.stdout.once('data', () => resolve()));

try {
  console.log(`GetToken throughput, ${seconds} s per run, ${concurrency} calls in flight, unix socket, 2 runs each (interleaved)`);
  const bareRates: number[] = [];
  const brokerRates: number[] = [];
  const metricsRates: number[] = [];
  for (let run = 0; run < 2; run++) {
    bareRates.push(await measure(`unix://${bareSocket}`, 'bench'));
    brokerRates.push(await measure(`unix://${brokerSocket}`, 'bench'));
    metricsRates.push(await measure(`unix://${metricsSocket}`, 'bench'));
  }
  const best = (values: number[]): number => Math.max(...values);
  const rates = (values: number[]): string => `${values.map((rate) => rate.toFixed(0)).join(', ')} calls/s (best ${best(values).toFixed(0)})`;
  console.log(`bare grpc-js server : ${rates(bareRates)}`);
  console.log(`token-broker cached : ${rates(brokerRates)}`);
  console.log(`  with metrics on   : ${rates(metricsRates)}`);
  console.log(`ratio broker/bare   : ${(best(brokerRates) / best(bareRates)).toFixed(3)} (goal >= 0.85)`);
  console.log(`ratio metrics on/off: ${(best(metricsRates) / best(brokerRates)).toFixed(3)}`);
  console.log(`token requests seen by the authorization server: ${sandbox.stats.total}`);
} finally {
  bare.kill('SIGTERM');
  await daemon.stop();
  await metricsDaemon.stop();
  await sandbox.close();
  await rm(directory, { recursive: true, force: true });
}
