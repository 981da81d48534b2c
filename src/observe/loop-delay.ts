import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';
import { SweepTimer } from '../net/sweep-timer.js';

/** prom-client's event-loop gauges, by the names dashboards already know. */
export const LOOP_DELAY_METRICS = [
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

export interface LoopDelayOptions {
  /** How often the loop is sampled while sampling (prom-client's default precision). */
  readonly resolutionMs?: number;
  /** Sampling stops after a check this long after the last activity finds the proxy not busy. */
  readonly idleAfterMs?: number;
  /** Told each time sampling starts or stops (tests). */
  readonly onSampling?: (sampling: boolean) => void;
}

const NS_PER_S = 1e9;

/**
 * The event-loop delay gauges, sampled only while the proxy has work. prom-client samples the loop
 * every 10 ms for as long as the process lives: an idle sidecar woke 200 times a second for it and
 * spent about 0.9% of a core doing nothing (60 s idle, /proc/PID/stat: 560 ms of CPU against 80 ms
 * without it). Here the same histogram runs while there is activity (`touch`, on every decision or
 * refusal) or `busy()` says so (client connections open), and stops at the first check after
 * `idleAfterMs` without either. A stall while nothing is being served delays no one; the first
 * action after idle starts sampling again at once. Between scrapes with no samples the
 * gauges read 0 (prom-client's would read a minimum of 9.2e9 s). Each scrape reads and resets
 * the histogram, as prom-client's does; `nodejs_eventloop_lag_seconds` is the delay of a
 * setImmediate at the scrape itself.
 */
export class LoopDelayGauges {
  readonly #histogram: IntervalHistogram;
  readonly #onSampling: (sampling: boolean) => void;
  /** Runs while sampling: each check ends it unless there was activity since the last or the proxy is busy. */
  readonly #check: SweepTimer;
  #sampling = false;
  #touched = false;

  constructor(registers: Registry[], busy: () => boolean, options: LoopDelayOptions = {}) {
    this.#histogram = monitorEventLoopDelay({ resolution: options.resolutionMs ?? 10 });
    this.#onSampling = options.onSampling ?? nothing;
    this.#check = new SweepTimer(options.idleAfterMs ?? 2_000, () => {
      if (!this.#touched && !busy()) {
        this.#stop();
        return false;
      }
      this.#touched = false;
      return true;
    });
    const histogram = this.#histogram;
    const [lagName, minName, maxName, meanName, stddevName, p50Name, p90Name, p99Name] = LOOP_DELAY_METRICS;
    const read = (value: () => number): (() => number) => () => (histogram.count === 0 ? 0 : value() / NS_PER_S);
    // Registered first, as prom-client registers it: a scrape serializes metrics in order, and
    // this one's collect sets the others' values before they are read.
    new Gauge({
      name: lagName,
      help: 'Lag of event loop in seconds.',
      registers,
      async collect() {
        for (const update of gauges) update();
        histogram.reset();
        const start = performance.now();
        await new Promise<void>((resolve) => {
          setImmediate(resolve);
        });
        this.set((performance.now() - start) / 1_000);
      },
    });
    const gauges = [
      gauge(registers, minName, 'The minimum recorded event loop delay.', read(() => histogram.min)),
      gauge(registers, maxName, 'The maximum recorded event loop delay.', read(() => histogram.max)),
      gauge(registers, meanName, 'The mean of the recorded event loop delays.', read(() => histogram.mean)),
      gauge(registers, stddevName, 'The standard deviation of the recorded event loop delays.', read(() => histogram.stddev)),
      gauge(registers, p50Name, 'The 50th percentile of the recorded event loop delays.', read(() => histogram.percentile(50))),
      gauge(registers, p90Name, 'The 90th percentile of the recorded event loop delays.', read(() => histogram.percentile(90))),
      gauge(registers, p99Name, 'The 99th percentile of the recorded event loop delays.', read(() => histogram.percentile(99))),
    ];
  }

  /** Whether the loop is being sampled now. */
  get sampling(): boolean {
    return this.#sampling;
  }

  /** Activity: sample from now on, at least until a check finds the proxy idle. */
  touch(): void {
    this.#touched = true;
    if (!this.#sampling) this.#start();
  }

  /** Stop sampling for good (the proxy is closing). */
  close(): void {
    this.#stop();
  }

  #start(): void {
    this.#sampling = true;
    this.#histogram.enable();
    this.#check.start();
    this.#onSampling(true);
  }

  #stop(): void {
    if (!this.#sampling) return;
    this.#sampling = false;
    this.#histogram.disable();
    this.#check.stop();
    this.#onSampling(false);
  }
}

/** A gauge whose value is read from `value` at each scrape; returns the update for the lag gauge's collect. */
function gauge(registers: Registry[], name: string, help: string, value: () => number): () => void {
  const created = new Gauge({ name, help, registers });
  return () => {
    created.set(value());
  };
}

function nothing(): void {
  // No one to tell.
}
