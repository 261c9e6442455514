import type { Clock } from './clock.js';

/**
 * Runs `task` every `intervalMillis` (fixed delay: the next run is scheduled after the previous one
 * finishes, so a slow run never overlaps itself) until stopped. Errors go to `onError`, never up.
 */
export class PeriodicTask<Name extends string = string> {
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly name: Name,
    private readonly intervalMillis: number,
    private readonly task: (signal: AbortSignal) => Promise<void>,
    private readonly clock: Clock,
    private readonly onError: (name: Name, error: unknown) => void,
  ) {}

  /** Starts the loop; `runFirstImmediately` runs once before the first wait. */
  start(runFirstImmediately = true): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal, runFirstImmediately);
  }

  private async run(signal: AbortSignal, runFirst: boolean): Promise<void> {
    let first = runFirst;
    while (!signal.aborted) {
      if (!first) {
        try {
          await this.clock.sleep(this.intervalMillis, signal);
        } catch {
          return;
        }
      }
      first = false;
      try {
        await this.task(signal);
      } catch (error) {
        if (!signal.aborted) this.onError(this.name, error);
      }
    }
  }

  /** Stops the loop and waits for an in-flight run to finish. */
  async stop(): Promise<void> {
    this.controller?.abort();
    this.controller = undefined;
    await this.loop;
    this.loop = undefined;
  }
}
