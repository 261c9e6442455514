// The part of lifion-kinesis (CommonJS, no type declarations) that bench/peers-contender.ts uses.
declare module 'lifion-kinesis' {
  interface LifionChunk {
    shardId: string;
    records: { sequenceNumber: string; data: Uint8Array }[];
  }
  export default class Kinesis {
    constructor(options: Record<string, unknown>);
    on(event: 'data', listener: (chunk: LifionChunk) => void): this;
    on(event: 'error', listener: (error: unknown) => void): this;
    startConsumer(): Promise<void>;
    stopConsumer(): void;
  }
}
