// `token-broker audit verify FILE...`: checks the hash chain of audit log
// files (oldest first, as logrotate numbered them) and says where it breaks.
import { verifyAuditFiles } from '../../audit/index.js';
import { ExitCode } from '../exit-codes.js';
import type { Terminal } from '../terminal.js';

export async function auditVerifyCommand(files: readonly string[], terminal: Terminal): Promise<ExitCode> {
  let result;
  try {
    result = await verifyAuditFiles(files);
  } catch (error) {
    terminal.err(`token-broker audit verify: cannot read ${files.join(', ')} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the audit log files, oldest first.`);
    return ExitCode.failed;
  }
  const named = files.join(' ');
  if (!result.ok) {
    terminal.err(`${result.problem ?? 'the chain is broken'}`);
    terminal.err(`${named}: chain BROKEN after ${result.lines} good line(s); the audit log was altered (or a crash tore a line: then only the last line is affected).`);
    return ExitCode.failed;
  }
  if (result.lines === 0) {
    terminal.out(`${named}: no audit lines.`);
    return ExitCode.ok;
  }
  terminal.out(`${named}: chain intact, ${result.lines} line(s), seq ${result.firstSeq} to ${result.lastSeq}.`);
  terminal.out(`last line's SHA-256: ${result.lastHash} (keep it apart from the log: lines removed from the end can only be noticed against it)`);
  if (result.continuesFrom !== undefined) {
    terminal.out(`the chain starts at seq ${result.firstSeq}, continuing one whose last line hashes to ${result.continuesFrom}: give the earlier (rotated) files first to check across them.`);
  }
  return ExitCode.ok;
}
