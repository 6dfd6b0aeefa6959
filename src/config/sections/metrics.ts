// `metrics`: the optional Prometheus listener (/metrics, /healthz, /readyz),
// on a TCP host:port or a unix socket spelled as in server.listen. Any host
// is accepted: the daemon warns at start about a non-loopback one (no
// authentication, and per-mailbox series name mailboxes).
import { z } from 'zod';
import { parseHostPort, parseListenAddress } from '../addresses.js';
import { flag, text } from '../fields.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { ListenAddress, MetricsConfig } from '../types.js';

export const METRICS_KEYS = ['listen', 'perMailbox'];

const LISTEN_RULE = 'must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464) or unix:///absolute/path (e.g. unix:///run/token-broker/metrics.sock)';

/**
 * `host:port` (how Prometheus' own exporters are usually given), or
 * `unix:///path` / `tcp://host:port` as server.listen spells them; `url` is
 * the text as written, for logs and restart checks.
 */
export function parseMetricsListen(value: string): ListenAddress | string {
  if (value.startsWith('unix://') || value.startsWith('tcp://')) return parseListenAddress(value);
  const hostPort = parseHostPort(value);
  return hostPort === undefined ? LISTEN_RULE : { kind: 'tcp', host: hostPort.host, port: hostPort.port, url: value };
}

export const metricsListen: z.ZodType<ListenAddress> = text.transform((value, ctx) => {
  const parsed = parseMetricsListen(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

export function readMetrics(section: Field<MappingReader>): MetricsConfig | undefined {
  const reader = valueOf(section);
  if (reader === undefined) return undefined;
  const listen = reader.field('listen', metricsListen);
  if (listen.state === 'absent') reader.missing('listen', 'required; set host:port, e.g. 127.0.0.1:9464, or unix:///run/token-broker/metrics.sock');
  const perMailbox = reader.field('perMailbox', flag);
  if (listen.state !== 'ok' || perMailbox.state === 'invalid') return undefined;
  // Per-mailbox series by default: a fleet too large for them says so (perMailbox: false).
  return { listen: listen.value, perMailbox: valueOf(perMailbox) ?? true };
}
