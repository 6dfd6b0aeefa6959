// Random secrets a test hands to the code under test, remembered so the test
// can check at the end that none of them reached a log, a message or a file.
import { randomBytes } from 'node:crypto';

export class TestSecrets {
  readonly values: string[] = [];

  /** A fresh random secret, e.g. `REFRESH-3f9a…`. */
  make(prefix: string): string {
    const value = `${prefix}-${randomBytes(24).toString('hex')}`;
    this.values.push(value);
    return value;
  }
}
