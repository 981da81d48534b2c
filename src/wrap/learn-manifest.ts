import { writeFile } from 'node:fs/promises';
import type { ProxyObserver } from '../contract/observer.js';
import { RecordBuilder } from '../learn/observed-record.js';
import { manifestOf, type Collapse, type LearnedManifest } from '../learn/manifest-of.js';

/** One run is one agent; this bounds a command that touches a great many destinations. */
const MAX_DESTINATIONS = 10_000;

export interface Learner {
  /** Handed to runWrapped's `observers`: it records every decision of this run, in memory. */
  readonly observer: ProxyObserver;
  /** The manifest of what the command did so far. */
  manifest(collapse: Collapse): LearnedManifest;
}

/** `--learn`: what the wrapped command did, as Kaizen's manifest (this run only, nothing kept under data_dir). */
export function createLearner(agent: string): Learner {
  const builder = new RecordBuilder(agent);
  return {
    observer: {
      decided(event) {
        builder.observe(event, Date.now(), () => builder.size < MAX_DESTINATIONS);
      },
      closed(event) {
        builder.closed(event);
      },
    },
    manifest: (collapse) => manifestOf(builder.snapshot(), collapse),
  };
}

export async function writeManifestFile(file: string, learned: LearnedManifest): Promise<void> {
  await writeFile(file, `${JSON.stringify(learned.manifest, null, 2)}\n`);
}
