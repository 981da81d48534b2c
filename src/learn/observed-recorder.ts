import { rename } from 'node:fs/promises';
import type { ClosedEvent, DecisionEvent, ProxyObserver } from '../contract/observer.js';
import type { Logger } from '../observe/logger.js';
import { mergeRecords, neverReached, RecordBuilder, type ObservedRecord } from './observed-record.js';
import { errnoOf, readRecord, recordPath, writeRecordAtomically } from './record-file.js';

export interface ObservedRecorderOptions {
  readonly dataDir: string;
  readonly maxDestinations: number;
  /** Changes wait at most this long before the file is rewritten. */
  readonly flushIntervalMs: number;
  readonly logger: Logger;
  /** Epoch milliseconds; Date.now by default. */
  readonly now?: () => number;
}

export interface ObservedRecorder extends ProxyObserver {
  /** Rewrite every changed record now (the debounce timer does this on its own). */
  flush(): Promise<void>;
  /** Stop the timer and write what is left; events after this are ignored. */
  close(): Promise<void>;
}

/** A record that could not be written is tried again after the flush interval, at least this long. */
const RETRY_MS = 1000;

/** Agents tracked by one process at most (gateway mode names one per credential). */
const MAX_AGENTS = 1000;

interface AgentState {
  readonly agent: string;
  readonly builder: RecordBuilder;
  readonly file: string;
  /** Targets on disk or in memory: what the bound counts. */
  readonly known: Set<string>;
  /** Whether a destination new to this process may be added (the bound, across file and memory). */
  readonly admit: (target: string) => boolean;
  base: ObservedRecord | null;
  loaded: Promise<void>;
  dirty: boolean;
  failing: boolean;
}

/**
 * The observed-egress record, kept from the transport's decision events: one builder per agent in
 * memory (a Map lookup and an object per event), merged with what the file already held (read once,
 * in the background) and written atomically at most every flush interval, and at close. A file that
 * is not a record is moved aside to `<file>.invalid`, never silently overwritten.
 */
export function createObservedRecorder(options: ObservedRecorderOptions): ObservedRecorder {
  const log = options.logger.child({ component: 'observed' });
  const now = options.now ?? Date.now;
  const agents = new Map<string, AgentState>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  function stateOf(agent: string): AgentState | undefined {
    const existing = agents.get(agent);
    if (existing !== undefined || agents.size >= MAX_AGENTS) return existing;
    const file = recordPath(options.dataDir, agent);
    const known = new Set<string>();
    const state: AgentState = {
      agent,
      builder: new RecordBuilder(agent),
      file,
      known,
      admit: (target) => {
        if (!known.has(target) && known.size >= options.maxDestinations) return false;
        known.add(target);
        return true;
      },
      base: null,
      loaded: Promise.resolve(),
      dirty: false,
      failing: false,
    };
    state.loaded = load(state);
    agents.set(agent, state);
    return state;
  }

  async function load(state: AgentState): Promise<void> {
    const read = await readRecord(state.file);
    if (read.kind === 'missing') return;
    if (read.kind === 'found' && read.record.agent === state.agent) {
      state.base = read.record;
      for (const target of read.record.destinations.keys()) state.known.add(target);
      return;
    }
    const reason = read.kind === 'invalid' ? read.message : 'it names another agent';
    log.warn({ agent: state.agent, file: state.file, reason }, 'observed record unreadable: moved aside to .invalid, starting a new one');
    await rename(state.file, `${state.file}.invalid`).catch(() => undefined);
  }

  function schedule(delayMs = options.flushIntervalMs): void {
    if (timer !== null || closed) return;
    timer = setTimeout(() => {
      timer = null;
      flush().catch(() => undefined);
    }, delayMs);
    timer.unref();
  }

  async function writeDirty(): Promise<void> {
    for (const state of agents.values()) {
      if (!state.dirty) continue;
      await state.loaded;
      state.dirty = false;
      const live = state.builder.snapshot();
      const record = state.base === null ? live : mergeRecords(state.base, live, options.maxDestinations);
      try {
        await writeRecordAtomically(state.file, record, now());
        if (state.failing) log.info({ agent: state.agent, file: state.file }, 'observed record written again');
        state.failing = false;
      } catch (error) {
        state.dirty = true;
        if (!state.failing) log.warn({ agent: state.agent, file: state.file, err: errnoOf(error) }, 'cannot write the observed record; will retry');
        state.failing = true;
        // The agent stays marked changed, so its next action arms no write: arm the retry here.
        schedule(Math.max(options.flushIntervalMs, RETRY_MS));
      }
    }
  }

  function flush(): Promise<void> {
    const run = writing.then(writeDirty);
    writing = run.catch(() => undefined);
    return run;
  }

  return {
    decided(event: DecisionEvent) {
      if (closed) return;
      const state = stateOf(event.agent);
      if (state === undefined) return;
      state.builder.observe(event, now(), state.admit);
      if (!state.dirty) {
        state.dirty = true;
        schedule();
      }
    },
    closed(event: ClosedEvent) {
      // Only an action that reached nothing changes the record: no Map lookup for any other close.
      if (closed || !neverReached(event)) return;
      const state = agents.get(event.agent);
      if (state === undefined || !state.builder.closed(event) || state.dirty) return;
      state.dirty = true;
      schedule();
    },
    flush,
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await flush();
    },
  };
}
