// The whole YAML file as one zod schema, made of the reader's own field
// schemas (one module per section). Nothing loads a config with it: the
// reader (sections/*.ts) stays the validator, with its messages and the
// checks across keys. This schema is what the JSON Schema for editors and
// the configuration reference are generated from, and the drift tests hold
// it to the reader.
import { z } from 'zod';
import { auditSection } from './audit.js';
import { authorizationServersSection } from './authorization-servers.js';
import { mailboxesSection } from './mailboxes.js';
import { metricsSection } from './metrics.js';
import { proxiesSection } from './proxies.js';
import { refreshSection } from './refresh.js';
import { serverSection } from './server.js';
import { storeSection } from './store.js';

/**
 * The file after `${NAME}` interpolation, which the reader does first, on
 * every string: json-schema.ts lets the written file hold a reference
 * wherever a value is constrained.
 */
export const brokerDocument = z
  .strictObject({
    server: serverSection.optional(),
    store: storeSection.optional(),
    metrics: metricsSection.optional(),
    audit: auditSection.optional(),
    refresh: refreshSection.optional(),
    authorizationServers: authorizationServersSection.optional(),
    proxies: proxiesSection.optional(),
    mailboxes: mailboxesSection.optional(),
  })
  .meta({
    title: 'token-broker configuration',
    description:
      "The YAML file token-broker serve and validate read (default /etc/token-broker/broker.yaml). Unknown keys are errors. Any string may use ${NAME} (from the broker's environment; $${ writes a literal ${). Every secret x may instead be given as xFile. token-broker validate checks what this schema cannot: references between keys, files, and the rules that depend on a server's type.",
  });
