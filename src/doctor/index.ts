// token-broker doctor: explains a mailbox's token and, with --probe, a real login.
export { formatReport, runDoctor } from './doctor.js';
export type { DoctorProbeOptions, DoctorReport, DoctorRequest, DoctorToken } from './doctor.js';
export type { Finding, FindingLevel } from './findings.js';
export { checkToken, audienceResource } from './token-checks.js';
export type { TokenCheckResult, TokenUnderTest } from './token-checks.js';
export { decodeAccessToken } from './token-claims.js';
export type { DecodedToken, TokenClaims } from './token-claims.js';
export { explainMailServerAnswer } from './mail-server-answers.js';
export type { AnswerContext, AnswerExplanation, TokenProblem } from './mail-server-answers.js';
export { defaultSecurity, probeLogin } from './probe.js';
export type { ProbeRequest, ProbeResult } from './probe.js';
