// `metrics` in the document schema: sections/metrics.ts reads it.
import { z } from 'zod';
import { flag, hostPort } from '../fields.js';
import { key } from './keys.js';

// Not emptyAllowed: the reader reads `metrics:` without a value as an empty section, which lacks listen.
export const metricsSection = z
  .object({
    listen: key(hostPort, {
      description: 'host:port of the Prometheus listener: /metrics, /healthz (alive) and /readyz (serving, store reachable). Required when the section is there; any host is allowed, it serves no secrets.',
      examples: ['127.0.0.1:9464', '[::1]:9464'],
    }),
    perMailbox: key(flag, {
      description: "Per-mailbox series (seconds until each token expires, days until each credential is expected to die); false for very large fleets, where one series per mailbox costs Prometheus too much.",
      default: true,
    }).optional(),
  })
  .strict()
  .meta({ description: 'The Prometheus metrics listener; optional: without it nothing listens.' });
