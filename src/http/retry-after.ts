// Reads a Retry-After header (RFC 9110 10.2.3) into milliseconds from now:
// delta-seconds or an HTTP-date in any of its three forms. Anything else is
// ignored rather than guessed at, and no server may park a mailbox longer
// than MAX_RETRY_AFTER_MS, whatever it asks.

/** The longest wait a Retry-After can impose: an hour, as msal-node also caps it. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`;
/** IMF-fixdate, the form servers send: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(String.raw`^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) ${TIME} gmt$`, 'i');
/** Obsolete RFC 850 form: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(String.raw`^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) ${TIME} gmt$`, 'i');
/** Obsolete asctime form, always UTC: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(String.raw`^[a-z]{3} ([a-z]{3}) ([ \d]\d) ${TIME} (\d{4})$`, 'i');

/**
 * How long the server asked us to wait, in milliseconds from `now` (ms since
 * the epoch, the moment the answer arrived): 0 for a date already past,
 * at most MAX_RETRY_AFTER_MS, undefined when absent or not a valid value
 * (negative or fractional seconds, a date that does not exist, free text).
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const date = httpDate(text, now);
  if (date === undefined) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/** Milliseconds since the epoch of an HTTP-date, or undefined when `text` is none. */
function httpDate(text: string, now: number): number | undefined {
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) {
    const [, day, month, year, hour, minute, second] = match;
    return utc(Number(year), month, Number(day), hour, minute, second);
  }
  match = RFC850_DATE.exec(text);
  if (match !== null) {
    const [, day, month, twoDigitYear, hour, minute, second] = match;
    return utc(fullYear(Number(twoDigitYear), now), month, Number(day), hour, minute, second);
  }
  match = ASCTIME_DATE.exec(text);
  if (match !== null) {
    const [, month, day, hour, minute, second, year] = match;
    return utc(Number(year), month, Number(day?.trim()), hour, minute, second);
  }
  return undefined;
}

/** RFC 9110: a two-digit year more than 50 years ahead means the most recent past year with those digits. */
function fullYear(twoDigits: number, now: number): number {
  const thisYear = new Date(now).getUTCFullYear();
  const candidate = Math.floor(thisYear / 100) * 100 + twoDigits;
  return candidate > thisYear + 50 ? candidate - 100 : candidate;
}

function utc(year: number, monthName: string | undefined, day: number, hour?: string, minute?: string, second?: string): number | undefined {
  const month = MONTHS.indexOf(monthName?.toLowerCase() ?? '');
  const [h, m, s] = [Number(hour), Number(minute), Number(second)];
  if (month < 0 || h > 23 || m > 59 || s > 60) return undefined;
  const time = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; a date that does not exist is garbage.
  const check = new Date(time);
  return check.getUTCFullYear() === year && check.getUTCMonth() === month && check.getUTCDate() === day ? time : undefined;
}
