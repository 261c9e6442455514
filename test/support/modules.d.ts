// Minimal typings for the in-process emulators (CommonJS packages without their own types).
// Both export a factory that returns a plain node:http Server whose close() also closes the store.

declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** Directory of a LevelDB store; omitted = in memory (memdown). */
    path?: string;
    ssl?: boolean;
    /** Milliseconds a stream stays CREATING / DELETING / UPDATING (default 500). */
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    /** Account shard limit used for LimitExceededException (default 10). */
    shardLimit?: number;
  }

  function kinesalite(options?: KinesaliteOptions): Server;
  export default kinesalite;
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Directory of a LevelDB store; omitted = in memory. */
    path?: string;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
    /** Milliseconds a table stays CREATING / DELETING / UPDATING (default 500). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
