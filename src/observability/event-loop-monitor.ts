/**
 * Measures event-loop delay the simple way: a timer asks to run every `sampleMillis` and records how late it
 * ran. A blocked loop (a CPU-bound processor, a synchronous loop over a huge batch) shows up as a large delay,
 * and it is exactly what delays lease renewals. The timer is `unref`'d: it never keeps the process alive.
 */
export class EventLoopMonitor {
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  /** (time, delay) of recent samples, oldest first. */
  private samples: { at: number; delay: number }[] = [];

  constructor(
    private readonly sampleMillis = 200,
    private readonly windowMillis = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    if (this.timer) return;
    this.expected = this.now() + this.sampleMillis;
    this.timer = setInterval(() => this.tick(), this.sampleMillis).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records one sample (the timer calls this; tests may call it directly). */
  tick(): void {
    const now = this.now();
    const delay = Math.max(0, now - this.expected);
    this.expected = now + this.sampleMillis;
    this.samples.push({ at: now, delay });
    while (this.samples.length > 0 && this.samples[0]!.at < now - this.windowMillis) this.samples.shift();
  }

  /**
   * The largest delay seen within the window, including the current one when the timer is overdue right now
   * (so a probe answered just after a long block still sees it).
   */
  maxDelayMillis(): number {
    let max = this.timer === undefined ? 0 : Math.max(0, this.now() - this.expected);
    for (const s of this.samples) if (s.delay > max) max = s.delay;
    return max;
  }
}
