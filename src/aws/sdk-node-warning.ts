const DISABLE = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Builds an SDK client without the SDK's `NodeVersionSupportWarning` on the Node.js versions ts-kcl supports
 * (20.19+: the SDK warns on every Node below 22, for its releases from January 2027; see README, Install). The
 * SDK checks its variable synchronously in the client constructor, so it is set only around the construction and
 * restored (the application's environment is left as it was); on Node 22+ or when the application set it, nothing
 * changes.
 */
export function withoutNodeVersionWarning<T>(make: () => T): T {
  if (process.env[DISABLE] !== undefined || Number(process.versions.node.split('.')[0]) >= 22) return make();
  process.env[DISABLE] = 'true';
  try {
    return make();
  } finally {
    delete process.env[DISABLE];
  }
}
