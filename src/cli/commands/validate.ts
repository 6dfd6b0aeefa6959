// `token-broker validate`: every problem of a config file at once.
import { formatProblem, loadConfig } from '../../config/index.js';
import { ExitCode } from '../exit-codes.js';
import type { Terminal } from '../terminal.js';
import { configPath } from '../config-path.js';

export async function validateCommand(options: { config?: string; strict?: boolean }, terminal: Terminal): Promise<ExitCode> {
  const file = configPath(options.config);
  const result = await loadConfig(file, { strict: options.strict === true });
  if (!result.ok) {
    for (const problem of result.problems) terminal.err(formatProblem(problem, file));
    const errors = result.problems.filter((problem) => problem.severity === 'error').length;
    terminal.err(`${file}: ${errors} error${errors === 1 ? '' : 's'}; the broker will not start with this file.`);
    return ExitCode.configInvalid;
  }
  for (const warning of result.warnings) terminal.err(formatProblem(warning, file));
  const count = result.config.mailboxes.size;
  terminal.out(`${file}: valid (${count} mailbox${count === 1 ? '' : 'es'}${result.warnings.length > 0 ? `, ${result.warnings.length} warning(s)` : ''}).`);
  return ExitCode.ok;
}
