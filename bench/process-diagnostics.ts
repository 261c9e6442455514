/**
 * Where a measured span's CPU went, beyond `process.cpuUsage()` (bench `--diag`): CPU ticks per thread (main, V8's
 * platform workers, libuv's pool — from /proc, Linux only), user/system time, context switches and page faults per
 * unit from `process.resourceUsage()`, and the GC pauses Node reports. Written for issue 18's "the profiles look
 * alike but the CPU does not" question: a difference outside the main thread's JS shows up here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

/** CPU ticks (user + system, in clock ticks) of each thread of this process, keyed `name#tid`. */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out; // not Linux
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${name}#${tid}`, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export interface Diagnostics {
  /** Ends the span and returns one line per kind of figure, per `units` (e.g. records). */
  stop(units: number): string[];
}

/** Starts a span now. */
export function startDiagnostics(): Diagnostics {
  const usage0 = process.resourceUsage();
  const ticks0 = threadTicks();
  const gcs = new Map<number, { count: number; millis: number }>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1;
      const g = gcs.get(kind) ?? { count: 0, millis: 0 };
      g.count++;
      g.millis += entry.duration;
      gcs.set(kind, g);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop(units: number): string[] {
      observer.disconnect();
      const usage = process.resourceUsage();
      const ticks = threadTicks();
      const per = (k: keyof NodeJS.ResourceUsage): string => ((usage[k] - usage0[k]) / units).toFixed(2);
      const threads = [...ticks].map(([k, v]) => [k, v - (ticks0.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
      // V8's GC kinds: 1 scavenge, 2 mark-compact, 4 incremental marking, 8 weak callbacks.
      return [
        `per unit: user ${per('userCPUTime')} µs, system ${per('systemCPUTime')} µs, voluntary switches ${per('voluntaryContextSwitches')}, involuntary ${per('involuntaryContextSwitches')}, minor faults ${per('minorPageFault')}`,
        `thread ticks (10 ms): ${threads.map(([k, v]) => `${k} ${v}`).join(', ') || 'n/a'}`,
        `gc: ${[...gcs].map(([k, g]) => `kind ${k} ×${g.count} ${g.millis.toFixed(0)} ms`).join(', ') || 'none'}`,
      ];
    },
  };
}
