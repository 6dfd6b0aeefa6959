// `metrics`: optional Prometheus /metrics and /healthz listener. Any host is
// fine: it serves no secrets.
import { hostPort } from '../fields.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';

export const METRICS_KEYS = ['listen'];

export function readMetrics(section: Field<MappingReader>): { readonly listen: string } | undefined {
  const reader = valueOf(section);
  if (reader === undefined) return undefined;
  const listen = reader.field('listen', hostPort);
  if (listen.state === 'absent') reader.missing('listen', 'required; set host:port, e.g. 127.0.0.1:9464');
  return listen.state === 'ok' ? { listen: listen.value } : undefined;
}
