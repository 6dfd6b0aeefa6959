// `${ENV_NAME}` in string values, read from the broker's environment at load
// time; `$${` writes a literal `${`. Messages name the variable, never its value.

export type Interpolated =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly messages: readonly string[] };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(text: string, env: NodeJS.ProcessEnv): Interpolated {
  if (!text.includes('${')) return { ok: true, value: text };
  const messages: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i] ?? '';
      i += 1;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    const name = end === -1 ? undefined : text.slice(i + 2, end);
    if (name === undefined || !NAME.test(name)) {
      messages.push('malformed ${...} reference; write ${NAME} with NAME made of letters, digits and _ (not starting with a digit), or $${ for a literal ${');
      break;
    }
    const value = env[name];
    if (value === undefined) {
      if (!messages.some((message) => message.startsWith(`environment variable ${name} `))) {
        messages.push(unsetMessage(name));
      }
    } else {
      out += value;
    }
    i = end + 1;
  }
  return messages.length > 0 ? { ok: false, messages } : { ok: true, value: out };
}

/**
 * systemd sets $CREDENTIALS_DIRECTORY itself, for units that load credentials,
 * so Environment= is the wrong advice for it: the usual way to meet it unset
 * is `token-broker validate` run by hand, outside the unit.
 */
function unsetMessage(name: string): string {
  if (name === 'CREDENTIALS_DIRECTORY') {
    return (
      'environment variable CREDENTIALS_DIRECTORY is not set: systemd sets it only for a unit with LoadCredential= or LoadCredentialEncrypted=; ' +
      "run validate with the unit's credentials (systemd-run --pipe --wait -p User=token-broker -p LoadCredentialEncrypted=ID:FILE ... token-broker validate, see docs/install.md), " +
      'or set it to a folder holding the credential files'
    );
  }
  return `environment variable ${name} is not set; set it in the broker's environment (systemd: Environment= or EnvironmentFile=)`;
}
