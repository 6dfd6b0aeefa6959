// `metrics` in the document schema: sections/metrics.ts reads it.
import { z } from 'zod';
import { flag } from '../fields.js';
import { metricsListen } from '../sections/metrics.js';
import { key } from './keys.js';

// Not emptyAllowed: the reader reads `metrics:` without a value as an empty section, which lacks listen.
export const metricsSection = z
  .object({
    listen: key(metricsListen, {
      description:
        'Where the Prometheus listener serves /metrics, /healthz (alive) and /readyz (serving, store reachable): host:port, tcp://host:port or unix:///absolute/path. Required when the section is there. It has no authentication and per-mailbox series name mailboxes: a non-loopback host is allowed, with a warning at start.',
      examples: ['127.0.0.1:9464', '[::1]:9464', 'unix:///run/token-broker/metrics.sock'],
    }),
    perMailbox: key(flag, {
      description: "Per-mailbox series (seconds until each token expires, days until each credential is expected to die); false for very large fleets, where one series per mailbox costs Prometheus too much.",
      default: true,
    }).optional(),
  })
  .strict()
  .meta({ description: 'The Prometheus metrics listener; optional: without it nothing listens.' });
