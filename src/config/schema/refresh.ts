// `refresh` in the document schema: sections/refresh.ts reads it.
import { z } from 'zod';
import { DEFAULT_IDLE_AFTER_HOURS, DEFAULT_KEEP_ALIVE_DAYS, DEFAULT_LEAD_TIME_SECONDS, DEFAULT_MAX_CONCURRENT_PER_SERVER, DEFAULT_SWEEP_INTERVAL_SECONDS } from '../defaults.js';
import { wholeNumber, wholeNumberInRange } from '../fields.js';
import { emptyAllowed, key } from './keys.js';

export const refreshSection = emptyAllowed(
  z
    .object({
      leadTimeSeconds: key(wholeNumber(0), {
        description: "Refresh a token this long before it expires (never more than half its life), plus up to 20 % jitter. Less than two sweep intervals is a warning: tokens may be refreshed late.",
        default: DEFAULT_LEAD_TIME_SECONDS,
      }).optional(),
      maxConcurrentPerServer: key(wholeNumber(1), {
        description: 'Token requests in flight at once per authorization server.',
        default: DEFAULT_MAX_CONCURRENT_PER_SERVER,
      }).optional(),
      sweepIntervalSeconds: key(wholeNumberInRange(1, 59, 'the sweep is a cron step of seconds'), {
        description: 'How often the refresh sweep looks for tokens due, 1 to 59 seconds (it is a cron step of seconds). An addition to the contract.',
        default: DEFAULT_SWEEP_INTERVAL_SECONDS,
      }).optional(),
      idleAfterHours: key(wholeNumber(1), {
        description: 'A mailbox no client asked for (GetToken, WatchToken, ReportRejected) in this long is idle: no longer refreshed ahead of expiry, only on demand. An addition to the contract.',
        default: DEFAULT_IDLE_AFTER_HOURS,
      }).optional(),
      keepAliveDays: key(wholeNumberInRange(1, 80, 'Microsoft ends refresh tokens unused for 90 days'), {
        description: "An idle mailbox's refresh token is still redeemed at least this often, 1 to 80 days, so Microsoft's 90-day and Google's 6-month inactivity limits never hit. An addition to the contract.",
        default: DEFAULT_KEEP_ALIVE_DAYS,
      }).optional(),
    })
    .strict(),
).meta({ description: 'How early and how often tokens are renewed.' });
