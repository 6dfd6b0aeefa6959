// Collects the problems of one load. Nothing in the config module throws on a
// bad file: every check adds here and goes on, so one mistake never hides another.
import type { ConfigProblem } from './types.js';

/** 1-based line and column in the YAML text. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export class ProblemSink {
  readonly #problems: ConfigProblem[] = [];
  #errors = 0;

  error(path: string, message: string, at?: Position): void {
    this.#add('error', path, message, at);
  }

  warning(path: string, message: string, at?: Position): void {
    this.#add('warning', path, message, at);
  }

  /** A problem found elsewhere (the YAML worker), as it was reported there. */
  add(problem: ConfigProblem): void {
    const at = problem.line === undefined ? undefined : { line: problem.line, column: problem.column ?? 1 };
    this.#add(problem.severity, problem.path, problem.message, at);
  }

  /** Errors so far; a caller compares counts to learn whether its part added any. */
  get errorCount(): number {
    return this.#errors;
  }

  /** In file order, so the output reads top to bottom; problems without a position first. */
  sorted(): ConfigProblem[] {
    return this.#problems
      .map((problem, index) => ({ problem, index }))
      .sort((a, b) => (a.problem.line ?? 0) - (b.problem.line ?? 0) || (a.problem.column ?? 0) - (b.problem.column ?? 0) || a.index - b.index)
      .map(({ problem }) => problem);
  }

  #add(severity: ConfigProblem['severity'], path: string, message: string, at: Position | undefined): void {
    if (severity === 'error') this.#errors += 1;
    this.#problems.push(at === undefined ? { severity, path, message } : { severity, path, message, line: at.line, column: at.column });
  }
}

/** `parent.key`, or just `key` at the top. */
export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}
