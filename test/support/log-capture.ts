// A logger whose output a test can read: to check what ops would see, and
// that no secret ever reaches a log line.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging/index.js';

export interface CapturedLog {
  readonly logger: ReturnType<typeof createLogger>;
  /** Everything logged so far (pino JSON lines). */
  text(): string;
}

export function captureLogs(level: Parameters<typeof createLogger>[0] = 'debug'): CapturedLog {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: createLogger(level, stream), text: () => text };
}
