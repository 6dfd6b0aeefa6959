// The validated config never holds `key: undefined`: an optional property is
// either set or absent, so `'tls' in config.server` and JSON dumps tell the truth.

/** `base` plus those of `optional` that are defined. */
export function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  return { ...base, ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)) };
}
