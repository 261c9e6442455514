/**
 * Coalesces concurrent calls: while one run is in flight, callers share its promise instead of
 * starting another (e.g. a renewal round triggered by both a timer and a checkpoint).
 */
export class SingleFlight<T> {
  private inFlight: Promise<T> | undefined;

  constructor(private readonly fn: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.inFlight) {
      this.inFlight = this.fn().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }
}
