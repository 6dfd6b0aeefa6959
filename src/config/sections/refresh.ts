// `refresh`: how early tokens are renewed, how many token requests may be
// in flight per authorization server, and (additions to the contract's keys)
// how often the sweep runs (1 to 59: it is a cron seconds step), after how
// long without a caller a mailbox counts as idle, and how often an idle
// mailbox's refresh token is redeemed all the same.
import {
  DEFAULT_IDLE_AFTER_HOURS,
  DEFAULT_KEEP_ALIVE_DAYS,
  DEFAULT_LEAD_TIME_SECONDS,
  DEFAULT_MAX_CONCURRENT_PER_SERVER,
  DEFAULT_SWEEP_INTERVAL_SECONDS,
} from '../defaults.js';
import type { z } from 'zod';
import { wholeNumber, wholeNumberInRange } from '../fields.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { RefreshConfig } from '../types.js';

export const REFRESH_KEYS = ['leadTimeSeconds', 'maxConcurrentPerServer', 'sweepIntervalSeconds', 'idleAfterHours', 'keepAliveDays'];

export function readRefresh(section: Field<MappingReader>): RefreshConfig {
  const reader = valueOf(section);
  const read = (key: string, schema: z.ZodType<number>): Field<number> | undefined => reader?.field(key, schema);
  const lead = read('leadTimeSeconds', wholeNumber(0));
  const sweep = read('sweepIntervalSeconds', wholeNumberInRange(1, 59, 'the sweep is a cron step of seconds'));
  const refresh: RefreshConfig = {
    leadTimeSeconds: (lead === undefined ? undefined : valueOf(lead)) ?? DEFAULT_LEAD_TIME_SECONDS,
    maxConcurrentPerServer: (reader === undefined ? undefined : valueOf(reader.field('maxConcurrentPerServer', wholeNumber(1)))) ?? DEFAULT_MAX_CONCURRENT_PER_SERVER,
    sweepIntervalSeconds: (sweep === undefined ? undefined : valueOf(sweep)) ?? DEFAULT_SWEEP_INTERVAL_SECONDS,
    idleAfterHours: (reader === undefined ? undefined : valueOf(reader.field('idleAfterHours', wholeNumber(1)))) ?? DEFAULT_IDLE_AFTER_HOURS,
    // Microsoft ends refresh tokens unused for 90 days, Google for 6 months: at most 80 days leaves room for long outages.
    keepAliveDays: (reader === undefined ? undefined : valueOf(reader.field('keepAliveDays', wholeNumberInRange(1, 80, "Microsoft ends refresh tokens unused for 90 days")))) ?? DEFAULT_KEEP_ALIVE_DAYS,
  };
  // A token is refreshed at the first sweep inside its lead time: with less than two sweeps of lead, a sweep can land
  // after expiry (plus jitter), and a connector asks a server at the worst moment.
  if (reader !== undefined && lead?.state === 'ok' && refresh.leadTimeSeconds < 2 * refresh.sweepIntervalSeconds) {
    reader.ctx.sink.warning(
      lead.path,
      `${refresh.leadTimeSeconds} s is less than two sweep intervals (refresh.sweepIntervalSeconds ${refresh.sweepIntervalSeconds} s): tokens may be refreshed late, or only once a connector asks; set at least ${2 * refresh.sweepIntervalSeconds}`,
      lead.at,
    );
  }
  return refresh;
}
