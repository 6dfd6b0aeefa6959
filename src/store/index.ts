// The token store: mailbox and shared-line records (tokens, refresh token,
// error state) and pending authorizations, encrypted with AES-256-GCM, on
// sqlite, redis or memory through keyv. Knows config types, errors and time; nothing above.
export { openTokenStore } from './open-token-store.js';
export type { OpenTokenStoreOptions } from './open-token-store.js';
export type { RecordsWanted, StoredRecords, TokenStore } from './token-store.js';
export type { LineRecord, MailboxRecord, PendingAuthorizationRecord, StoredError, StoredToken } from './records.js';
export { credentialFingerprint } from './fingerprint.js';
export type { CommittedBatch } from './write-batcher.js';
