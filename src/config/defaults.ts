// Defaults of the YAML (CONTRACT.md), in one place for code and docs.

export const DEFAULT_CONFIG_PATH = '/etc/token-broker/broker.yaml';
export const DEFAULT_LISTEN = 'unix:///run/token-broker/broker.sock';
export const DEFAULT_SOCKET_MODE = 0o660;
export const DEFAULT_STORE_URL = 'sqlite:///var/lib/token-broker/tokens.sqlite';
export const DEFAULT_ENCRYPTION_KEY_FILE = '/var/lib/token-broker/store.key';
export const DEFAULT_LEAD_TIME_SECONDS = 300;
export const DEFAULT_MAX_CONCURRENT_PER_SERVER = 16;
/** How often the refresh sweep looks for tokens due (seconds). */
export const DEFAULT_SWEEP_INTERVAL_SECONDS = 10;
/** A mailbox no client asked for in this long stops being refreshed ahead of expiry (hours). */
export const DEFAULT_IDLE_AFTER_HOURS = 24;
/** An idle mailbox's refresh token is redeemed at least this often (days). */
export const DEFAULT_KEEP_ALIVE_DAYS = 7;
