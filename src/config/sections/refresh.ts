// `refresh`: how early tokens are renewed, how many token requests may be
// in flight per authorization server, and how often the sweep runs (an
// addition to the contract's keys; at most 59: it is a cron seconds step).
import { DEFAULT_LEAD_TIME_SECONDS, DEFAULT_MAX_CONCURRENT_PER_SERVER, DEFAULT_SWEEP_INTERVAL_SECONDS } from '../defaults.js';
import { wholeNumber } from '../fields.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { RefreshConfig } from '../types.js';

export const REFRESH_KEYS = ['leadTimeSeconds', 'maxConcurrentPerServer', 'sweepIntervalSeconds'];

export function readRefresh(section: Field<MappingReader>): RefreshConfig {
  const reader = valueOf(section);
  return {
    leadTimeSeconds: (reader === undefined ? undefined : valueOf(reader.field('leadTimeSeconds', wholeNumber(0)))) ?? DEFAULT_LEAD_TIME_SECONDS,
    maxConcurrentPerServer: (reader === undefined ? undefined : valueOf(reader.field('maxConcurrentPerServer', wholeNumber(1)))) ?? DEFAULT_MAX_CONCURRENT_PER_SERVER,
    sweepIntervalSeconds: Math.min(59, (reader === undefined ? undefined : valueOf(reader.field('sweepIntervalSeconds', wholeNumber(1)))) ?? DEFAULT_SWEEP_INTERVAL_SECONDS),
  };
}
