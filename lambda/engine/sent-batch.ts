import type { DecisionRef } from './stream-ledger';
import type { VersionEntry } from './types';

/**
 * A batch handed to the deleter, and the decision of each of its entries.
 * The deleter reports entries in the order they were sent, so the next one is
 * almost always the one asked for; a lookup table is built only for a batch
 * that reports out of order (keys retried after a per-key error, keys XML
 * cannot carry). One map of every entry in flight, the earlier design, was
 * about a tenth of the peak heap at 16 prefixes (bench/README.md, issue 12's
 * memory).
 */
export class SentBatch {
  private next = 0;
  private indexOf: Map<VersionEntry, number> | undefined;

  /** `decisions[i]` is the decision of `entries[i]`. */
  constructor(
    readonly entries: readonly VersionEntry[],
    private readonly decisions: readonly DecisionRef[],
  ) {}

  /** The decision of `entry` (the very object sent); undefined for an entry not in this batch. */
  decisionOf(entry: VersionEntry): DecisionRef | undefined {
    if (this.entries[this.next] === entry) return this.decisions[this.next++];
    this.indexOf ??= new Map(this.entries.map((e, i) => [e, i]));
    const at = this.indexOf.get(entry);
    return at === undefined ? undefined : this.decisions[at];
  }
}
