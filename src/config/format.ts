// One problem as one line, in the compiler style editors and CI annotate:
// `file:line:column: error: path: message`.
import type { ConfigProblem } from './types.js';

export function formatProblem(problem: ConfigProblem, file: string): string {
  let where = file;
  if (problem.line !== undefined) where += problem.column === undefined ? `:${problem.line}` : `:${problem.line}:${problem.column}`;
  const subject = problem.path === '' ? '' : `${problem.path}: `;
  return `${where}: ${problem.severity}: ${subject}${problem.message}`;
}
