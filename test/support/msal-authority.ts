// msal-node's authority settings for the sandbox, exactly as the broker
// builds them (msalAuthorityOptions): the metadata msal would otherwise
// fetch is handed over, so it makes no discovery request.
import { msalAuthorityOptions } from '../../src/broker/index.js';
import { TEST_SERVER } from './mailbox.js';

export interface SandboxMsalAuthority {
  readonly authority: string;
  readonly authorityMetadata: string;
  readonly cloudDiscoveryMetadata: string;
  readonly knownAuthorities: string[];
}

export function sandboxMsalAuthority(sandboxUrl: string, tenant: string): SandboxMsalAuthority {
  const { authority, authorityMetadata, cloudDiscoveryMetadata, knownAuthorities } = msalAuthorityOptions({ ...TEST_SERVER, authorityHost: sandboxUrl }, tenant);
  return { authority, authorityMetadata, cloudDiscoveryMetadata, knownAuthorities: [...knownAuthorities] };
}
