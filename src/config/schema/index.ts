// The config file described for people and editors: the document schema,
// the JSON Schema generated from it, and the configuration reference.
export { brokerDocument } from './document.js';
export { brokerJsonSchema, brokerJsonSchemaText, ENVIRONMENT_REFERENCE, SCHEMA_FILE, SCHEMA_ID } from './json-schema.js';
export type { JsonSchema } from './json-schema.js';
export { PENDING_READER_KEYS } from './pending-keys.js';
export { configurationReference, referenceEntries, referenceSections, REGENERATE_COMMAND } from './reference.js';
export type { ReferenceEntry, ReferenceSection } from './reference.js';
