import type { EntrySelector, SelectorFactory } from './types';

/** The teardown selector: every version and delete marker, as listed. */
export const selectAll: SelectorFactory = (): EntrySelector => ({
  next: (entry) => [entry],
  end: () => [],
  snapshot: () => null,
});
