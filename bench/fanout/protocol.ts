import type { KeyRange, PurgeCounts, ResumeToken } from '../../lambda/engine/purge-types';

/**
 * The messages between the fan-out harness and its worker processes (IPC of
 * child_process.fork). One request is one slice: the worker runs the engine
 * on one key range until the range is done or the slice's time is up, as a
 * Distributed Map child's Lambda slice does, and answers with counts only.
 */

/** A share of the key space, as the planner hands it to a Map child. */
export interface WorkRange {
  /** Index in the plan, for the report. */
  readonly index: number;
  /** The keys of the range: under `prefix`, after `after`, through `through` (engine/listing/key-ranges.ts). */
  readonly keys: KeyRange;
}

export interface SliceRequest {
  readonly kind: 'slice';
  readonly endpoint: string;
  readonly bucket: string;
  readonly range: WorkRange;
  /** The previous slice's token for this range; null on the first slice. */
  readonly resumeToken: ResumeToken | null;
  /** How long the slice may run (ms); the engine stops cleanly before it. */
  readonly sliceMs: number;
}

export interface SliceReply {
  readonly kind: 'slice-done';
  readonly range: WorkRange;
  readonly done: boolean;
  readonly resumeToken: ResumeToken | null;
  /** The run's totals so far (the engine carries them through the token). */
  readonly counts: PurgeCounts;
  readonly throttled: number;
  readonly failed: number;
  /** The error message when the slice threw (the harness stops the run). */
  readonly error?: string;
  readonly ms: number;
}

/** Sent once when the worker has loaded the engine and the SDK. */
export interface ReadyReply {
  readonly kind: 'ready';
}

export type WorkerReply = SliceReply | ReadyReply;
