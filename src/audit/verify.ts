// `token-broker audit verify`: walks the chain of one or more audit files (in
// rotation order, oldest first) and says whether it is whole, or the first
// line where it breaks and what that means.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GENESIS, hashLine } from './audit-chain.js';

export interface VerifyResult {
  readonly ok: boolean;
  readonly lines: number;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  /** SHA-256 of the last line: keep it elsewhere to detect a truncated end later. */
  readonly lastHash?: string;
  /** The chain does not start at GENESIS: the files continue an earlier one. */
  readonly continuesFrom?: string;
  /** Where and why the chain breaks. */
  readonly problem?: string;
}

export async function verifyAuditFiles(files: readonly string[]): Promise<VerifyResult> {
  let lines = 0;
  let firstSeq: number | undefined;
  let previous: { seq: number; hash: string; where: string } | undefined;
  let continuesFrom: string | undefined;
  for (const file of files) {
    let number = 0;
    const reader = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const text of reader) {
      number += 1;
      const where = `${file}:${number}`;
      if (text === '') return { ok: false, lines, firstSeq, problem: `${where}: an empty line; audit lines are never empty, so the file was edited` };
      let line: { seq?: unknown; prev?: unknown };
      try {
        line = JSON.parse(text) as { seq?: unknown; prev?: unknown };
      } catch {
        return { ok: false, lines, firstSeq, problem: `${where}: not a JSON line (edited, or torn by a crash while it was written)` };
      }
      if (typeof line.seq !== 'number' || typeof line.prev !== 'string' || !/^[0-9a-f]{64}$/.test(line.prev)) {
        return { ok: false, lines, firstSeq, problem: `${where}: no seq or prev field; not an audit line of token-broker` };
      }
      if (previous === undefined) {
        firstSeq = line.seq;
        if (line.prev !== GENESIS || line.seq !== 1) continuesFrom = line.prev;
      } else {
        if (line.prev !== previous.hash) {
          return { ok: false, lines, firstSeq, problem: `${where}: prev does not match the hash of ${previous.where}: a line between them was removed, or one of the two was edited` };
        }
        if (line.seq !== previous.seq + 1) {
          return { ok: false, lines, firstSeq, problem: `${where}: seq ${line.seq} follows ${previous.seq} at ${previous.where}: lines are missing or out of order` };
        }
      }
      lines += 1;
      previous = { seq: line.seq, hash: hashLine(text), where };
    }
  }
  return { ok: true, lines, firstSeq, lastSeq: previous?.seq, lastHash: previous?.hash, continuesFrom };
}
