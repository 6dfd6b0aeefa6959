// Parses a big config in a worker thread, for the running daemon's reloads.
// The `yaml` package lexes about 4 MB a second and allocates several times
// the text: a 10,000-mailbox file of 2.5 MB takes 0.7 to 1 s and about 0.9 GB
// of short-lived garbage. On the daemon's thread that is a second in which no
// GetToken is answered; in a worker the main thread keeps turning, the
// garbage dies with the worker's heap, and only the tree comes back (a
// structured clone: about 0.15 s to read on this side, in which the thread is
// busy). Not used at start-up or by validate: with nothing else to do, the
// worker's start and the clone make it slower than parsing in place. Small
// files always parse in place: starting a worker costs more than parsing them.
import { Worker } from 'node:worker_threads';
import type { ProblemSink } from './problems.js';
import type { ConfigProblem } from './types.js';
import { parseYamlSource } from './yaml-source.js';
import type { SourceNode } from './yaml-source.js';

/** Shorter texts (characters) are parsed in place even when asked otherwise: about 60 ms of parsing, the cost of a worker start and its clone. */
export const OFF_THREAD_MIN_LENGTH = 256 * 1024;

/** What the worker posts back: parseYamlSource's answer and the problems it reported, positions included. */
export interface ParsedYaml {
  readonly root: SourceNode | undefined;
  readonly problems: readonly ConfigProblem[];
}

export interface ParseOptions {
  /** Parse in a worker thread (true) or on the calling thread (false, the default). */
  readonly offThread?: boolean;
}

/**
 * parseYamlSource, in a worker thread for a big text. Problems are reported
 * to `sink` as parseYamlSource reports them. Should the worker fail (it cannot
 * start, or dies without an answer), the text is parsed on this thread, so
 * the outcome is the same as without a worker, only slower.
 */
export async function parseYamlSourceOffThread(text: string, sink: ProblemSink, options: ParseOptions = {}): Promise<SourceNode | undefined> {
  const parsed = options.offThread === true ? await parseInWorker(text) : undefined;
  if (parsed === undefined) return parseYamlSource(text, sink);
  for (const problem of parsed.problems) sink.add(problem);
  return parsed.root;
}

/** The worker's answer, or undefined when there is none (the caller then parses in place). */
function parseInWorker(text: string): Promise<ParsedYaml | undefined> {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./yaml-parse-worker.js', import.meta.url), { workerData: text });
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    let answer: ParsedYaml | undefined;
    worker.once('message', (message: ParsedYaml) => (answer = message));
    // parseYamlSource throws for no text (it bounds nesting and aliases); should the worker still die (out of memory), 'exit' comes without an answer and the caller parses in place.
    worker.once('error', () => undefined);
    worker.once('exit', () => resolve(answer));
  });
}
