// The worker thread of parseYamlSourceOffThread (yaml-off-thread.ts): parses
// the text it is given, with positions, and posts the tree and the problems.
import { parentPort, workerData } from 'node:worker_threads';
import { ProblemSink } from './problems.js';
import { parseYamlSource } from './yaml-source.js';
import type { ParsedYaml } from './yaml-off-thread.js';

const sink = new ProblemSink();
const root = parseYamlSource(String(workerData), sink);
const parsed: ParsedYaml = { root, problems: sink.sorted() };
parentPort?.postMessage(parsed);
