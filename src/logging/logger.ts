// The broker's logger: JSON lines on stderr (journald keeps them; stdout
// stays free for command output). Known secret-bearing keys are redacted as a
// second line of defence; the first is that secrets are Secret objects.
import pino from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevelName {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

const REDACT_PATHS = [
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'password',
  'authorization',
  'sasl_xoauth2',
  'saslXoauth2',
  'sasl_oauthbearer',
  'saslOauthbearer',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.clientSecret',
  '*.password',
  '*.authorization',
  // A SASL string is base64 of the access token and more: a token logged whole (a Token message) must not leak through it.
  '*.sasl_xoauth2',
  '*.saslXoauth2',
  '*.sasl_oauthbearer',
  '*.saslOauthbearer',
];

export function createLogger(level: LevelWithSilent = 'info', destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ dest: destination, sync: true }) : destination;
  return pino(
    {
      name: 'token-broker',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    stream,
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
