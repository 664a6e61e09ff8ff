import picomatch from 'picomatch';

/** Which keys a rule applies to. */
export interface KeyScope {
  /**
   * Plain key prefixes (never globs). When given, only keys starting with one
   * of them are in scope.
   * @default - every key
   */
  readonly prefixes?: readonly string[];
  /**
   * Keys to leave alone. Each item is a glob pattern when it contains any of
   * {@link GLOB_CHARACTERS}, otherwise a plain key prefix. See
   * {@link isGlobPattern}.
   * @default - nothing excluded
   */
  readonly exclude?: readonly string[];
}

/** Tells whether a key is in scope. */
export type KeyPredicate = (key: string) => boolean;

/** Any of these characters makes an `exclude` item a glob pattern rather than a prefix. */
export const GLOB_CHARACTERS = '*?[]{}!' as const;

/**
 * Options every exclude glob is compiled with.
 * - `dot`: S3 keys have no hidden files, so `*` and `**` also match segments
 *   starting with `.`.
 * - `windows: false`: `/` is the only separator and `\` escapes, on every OS,
 *   so the CLI on Windows matches exactly like the Lambda.
 */
const GLOB_OPTIONS = { dot: true, windows: false } as const;

/**
 * True when `pattern` is matched as a glob, false when it is a plain prefix.
 *
 * A glob is matched against the whole key with picomatch: `*` stays within one
 * `/`-separated segment, `**` crosses segments (so `*.tmp` matches only
 * top-level keys, `**\/*.tmp` matches at any depth), and a leading `!` negates.
 * A plain prefix such as `logs/` excludes every key starting with it.
 */
export function isGlobPattern(pattern: string): boolean {
  return [...GLOB_CHARACTERS].some((character) => pattern.includes(character));
}

function matcherFor(pattern: string): KeyPredicate {
  if (isGlobPattern(pattern)) {
    return picomatch(pattern, GLOB_OPTIONS);
  }
  return (key) => key.startsWith(pattern);
}

/**
 * Builds a predicate that is true for keys under one of `scope.prefixes`
 * (when given) and not matched by any of `scope.exclude`.
 *
 * @throws Error for an empty prefix or exclude item, or an empty `prefixes` list.
 */
export function createKeyFilter(scope: KeyScope): KeyPredicate {
  const { prefixes, exclude = [] } = scope;
  if (prefixes !== undefined && prefixes.length === 0) {
    throw new Error('prefixes must not be empty: omit it to cover every key.');
  }
  for (const prefix of prefixes ?? []) {
    if (typeof prefix !== 'string' || prefix === '') {
      throw new Error(`Invalid prefix ${JSON.stringify(prefix)}: expected a non-empty string.`);
    }
  }
  for (const pattern of exclude) {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new Error(`Invalid exclude item ${JSON.stringify(pattern)}: expected a non-empty prefix or glob.`);
    }
  }
  const isExcluded = exclude.map(matcherFor);
  return (key) => {
    if (prefixes !== undefined && !prefixes.some((prefix) => key.startsWith(prefix))) {
      return false;
    }
    return !isExcluded.some((matches) => matches(key));
  };
}
