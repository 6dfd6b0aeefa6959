// `audit` in the document schema: sections/audit.ts reads it.
import { z } from 'zod';
import { filePath, flag } from '../fields.js';
import { key } from './keys.js';

// Not emptyAllowed: the reader answers `audit:` without a value with "has no value".
export const auditSection = z
  .object({
    file: key(filePath, {
      description: "The file audit lines are appended to (created 0600; relative to the config file's folder): one JSON line per token handed out, authorization and admin call, hash-chained (token-broker audit verify FILE).",
      examples: ['/var/log/token-broker/audit.jsonl'],
    }).optional(),
    stdout: key(flag, {
      description: "true: audit lines go to standard output, apart from the broker's log on stderr. Give either file or stdout: true (checked by the loader).",
      default: false,
    }).optional(),
  })
  .strict()
  .meta({ description: 'The audit log; optional: without it there is none. Exactly one destination: file, or stdout: true.' });
