// `audit`: where the audit log goes (one line per token handed out,
// authorization and admin call; src/audit). `file` appends to a file, a
// relative path counting from the config's folder; `stdout: true` writes the
// lines to standard output, apart from the broker's log on stderr.
import { filePath, flag } from '../fields.js';
import type { LoadContext } from '../context.js';
import { resolveConfigPath } from '../files.js';
import { valueOf } from '../reader.js';
import type { Field, MappingReader } from '../reader.js';
import type { AuditConfig } from '../types.js';

export const AUDIT_KEYS = ['file', 'stdout'];

export function readAudit(ctx: LoadContext, section: Field<MappingReader>): AuditConfig | undefined {
  const reader = valueOf(section);
  if (reader === undefined) return undefined;
  const file = reader.field('file', filePath);
  const stdout = reader.field('stdout', flag);
  if (file.state === 'ok' && stdout.state === 'ok' && stdout.value) {
    ctx.sink.error(stdout.path, 'give either audit.file or audit.stdout: true, not both; the audit log has one destination', stdout.at);
    return undefined;
  }
  if (file.state === 'ok') return { file: resolveConfigPath(ctx.baseDir, file.value) };
  if (stdout.state === 'ok' && stdout.value) return { stdout: true };
  if (file.state === 'absent' && stdout.state === 'absent') reader.missing('file', 'required in an audit section; set file: /var/log/token-broker/audit.jsonl, or stdout: true');
  return undefined;
}
