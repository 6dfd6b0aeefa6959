// The audit log: who received which mailbox's token, and every authorization and admin call.
export { AuditLog } from './audit-log.js';
export type { AuditTarget } from './audit-log.js';
export { formatLine, GENESIS, hashLine, tokenFingerprint } from './audit-chain.js';
export type { AuditEvent, AuditEventKind, AuditLine } from './audit-chain.js';
export { verifyAuditFiles } from './verify.js';
export type { VerifyResult } from './verify.js';
