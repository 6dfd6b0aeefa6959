// `refresh`: how early tokens are renewed, how many token requests may be
// in flight per authorization server, and (additions to the contract's keys)
// how often the sweep runs (at most 59: it is a cron seconds step), after how
// long without a caller a mailbox counts as idle, and how often an idle
// mailbox's refresh token is redeemed all the same.
import {
  DEFAULT_IDLE_AFTER_HOURS,
  DEFAULT_KEEP_ALIVE_DAYS,
  DEFAULT_LEAD_TIME_SECONDS,
  DEFAULT_MAX_CONCURRENT_PER_SERVER,
  DEFAULT_SWEEP_INTERVAL_SECONDS,
} from '../defaults.js';
import { wholeNumber } from '../fields.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { RefreshConfig } from '../types.js';

export const REFRESH_KEYS = ['leadTimeSeconds', 'maxConcurrentPerServer', 'sweepIntervalSeconds', 'idleAfterHours', 'keepAliveDays'];

export function readRefresh(section: Field<MappingReader>): RefreshConfig {
  const reader = valueOf(section);
  return {
    leadTimeSeconds: (reader === undefined ? undefined : valueOf(reader.field('leadTimeSeconds', wholeNumber(0)))) ?? DEFAULT_LEAD_TIME_SECONDS,
    maxConcurrentPerServer: (reader === undefined ? undefined : valueOf(reader.field('maxConcurrentPerServer', wholeNumber(1)))) ?? DEFAULT_MAX_CONCURRENT_PER_SERVER,
    sweepIntervalSeconds: Math.min(59, (reader === undefined ? undefined : valueOf(reader.field('sweepIntervalSeconds', wholeNumber(1)))) ?? DEFAULT_SWEEP_INTERVAL_SECONDS),
    idleAfterHours: (reader === undefined ? undefined : valueOf(reader.field('idleAfterHours', wholeNumber(1)))) ?? DEFAULT_IDLE_AFTER_HOURS,
    // Microsoft ends refresh tokens unused for 90 days, Google for 6 months: a week leaves room for long outages.
    keepAliveDays: Math.min(80, (reader === undefined ? undefined : valueOf(reader.field('keepAliveDays', wholeNumber(1)))) ?? DEFAULT_KEEP_ALIVE_DAYS),
  };
}
