// The store key named as one of systemd's credentials that systemd did not
// provide: said the same way by `validate` (the config check) and by `serve`
// (the store opening its key), so ops read one message and one command.
import { basename } from 'node:path';
import { BrokerError } from '../errors/index.js';

/**
 * The key file is one of systemd's credentials and systemd did not provide
 * it: a key generated there would be lost at the next stop (systemd empties
 * the folder) and every token stored under it with it, and the folder is
 * read-only anyway. Only ops can supply it, as a credential.
 */
export function keyCredentialMissing(file: string, credentialsFolder: string): BrokerError {
  const id = basename(file);
  const encrypted = `/etc/credstore.encrypted/token-broker.${id}`;
  return new BrokerError(
    `the token store encryption key file ${file} does not exist, and the broker cannot generate it there: ${credentialsFolder} is the systemd credentials folder ($CREDENTIALS_DIRECTORY), read-only and emptied at every stop.`,
    {
      code: 'store_key_invalid',
      permanent: true,
      remediation:
        `Create the key as an encrypted credential, as root: (umask 077; openssl rand -base64 32 | systemd-creds encrypt --name=${id} - ${encrypted}), ` +
        `name it in the unit (systemctl edit token-broker: LoadCredentialEncrypted=${id}:${encrypted}), then systemctl restart token-broker. ` +
        'If the tokens are stored already, encrypt the key they were stored with instead of a new one.',
    },
  );
}

