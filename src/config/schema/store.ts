// `store` in the document schema: sections/store.ts reads it.
import { z } from 'zod';
import { DEFAULT_ENCRYPTION_KEY_FILE, DEFAULT_STORE_URL } from '../defaults.js';
import { filePath } from '../fields.js';
import { ENCRYPTION_KEY_RULE, filePathList, storeUrl } from '../sections/store.js';
import { emptyAllowed, key } from './keys.js';

export const storeSection = emptyAllowed(
  z
    .object({
      // The folder only matters to what the URL becomes (a relative sqlite path resolved), not to what is accepted.
      url: key(storeUrl('/'), {
        description:
          "Where tokens are kept: sqlite:///path/to/tokens.sqlite (embedded; a relative path counts from the config file's folder), redis://host:6379/0 or rediss://host:6380/0 (shared by several instances), or memory: (tests: lost at exit). A redis password belongs in ${NAME}, not in the file.",
        default: DEFAULT_STORE_URL,
        examples: ['sqlite:///var/lib/token-broker/tokens.sqlite', 'redis://redis.internal:6379/0', 'memory:'],
      }).optional(),
      encryptionKeyFile: key(filePath, {
        description: `The key stored tokens are encrypted with: ${ENCRYPTION_KEY_RULE}. Created (mode 0600) when absent; unused by memory:. Under systemd it can be a credential (LoadCredential=), named as \${CREDENTIALS_DIRECTORY}/store-key: see docs/install.md.`,
        default: DEFAULT_ENCRYPTION_KEY_FILE,
      }).optional(),
      previousEncryptionKeyFiles: key(filePathList, {
        description: 'Old keys, read-only: a record still under one of them is read with it and re-encrypted with the current key on its next write. Each must exist and hold a key.',
      }).optional(),
    })
    .strict(),
).meta({ description: 'Where tokens are kept and the keys they are encrypted with.' });
