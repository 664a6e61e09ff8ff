import { createKeyFilter, isGlobPattern } from '../../lambda/engine/key-filter';

describe('isGlobPattern', () => {
  it.each(['*.tmp', 'a/?', 'a/[xy]', 'a/{x,y}', '!keep/**'])('treats %j as a glob', (pattern) => {
    // GIVEN an item with a glob character WHEN classified THEN it is a glob
    expect(isGlobPattern(pattern)).toBe(true);
  });

  const plainPrefixes = ['logs/', 'a.b', 'with space', 'back\\slash', '(paren)', 'plus+at@'];
  it.each(plainPrefixes)('treats %j as a plain prefix', (pattern) => {
    // GIVEN an item without any of *?[]{}! WHEN classified THEN it is a prefix
    expect(isGlobPattern(pattern)).toBe(false);
  });
});

describe('createKeyFilter', () => {
  it('accepts every key when neither prefixes nor exclude is given', () => {
    // GIVEN an empty scope WHEN keys are tested THEN all are in scope
    const inScope = createKeyFilter({});
    expect(['', 'a', 'logs/x', '.hidden'].every(inScope)).toBe(true);
  });

  it('accepts only keys starting with one of the prefixes, compared as plain strings', () => {
    // GIVEN prefixes logs/ and a.b WHEN keys are tested THEN only keys starting with one of them pass
    const inScope = createKeyFilter({ prefixes: ['logs/', 'a.b'] });
    expect(inScope('logs/2024/x')).toBe(true);
    expect(inScope('a.b/c')).toBe(true);
    expect(inScope('logs')).toBe(false);
    expect(inScope('axb')).toBe(false);
    expect(inScope('data/logs/x')).toBe(false);
  });

  it('rejects keys under a plain exclude prefix', () => {
    // GIVEN an exclude prefix WHEN keys are tested THEN keys starting with it are out of scope
    const inScope = createKeyFilter({ exclude: ['keep/'] });
    expect(inScope('keep/x')).toBe(false);
    expect(inScope('keepsake')).toBe(true);
  });

  it('matches an exclude glob against the whole key, with * staying within one segment', () => {
    // GIVEN *.tmp and **/*.log WHEN keys are tested THEN * is one segment and ** any depth, including none
    const inScope = createKeyFilter({ exclude: ['*.tmp', '**/*.log'] });
    expect(inScope('a.tmp')).toBe(false);
    expect(inScope('dir/a.tmp')).toBe(true);
    expect(inScope('a.log')).toBe(false);
    expect(inScope('x/y/z.log')).toBe(false);
    expect(inScope('x/y/z.log.gz')).toBe(true);
  });

  it('lets globs match segments starting with a dot', () => {
    // GIVEN **/* under cache/ WHEN a dotted key is tested THEN it is excluded too
    const inScope = createKeyFilter({ exclude: ['cache/**'] });
    expect(inScope('cache/.git/HEAD')).toBe(false);
    expect(inScope('.cache/x')).toBe(true);
  });

  it('supports character classes, alternatives and single-character wildcards', () => {
    // GIVEN [ab]/?, {x,y}/** WHEN keys are tested THEN they match as globs do
    const inScope = createKeyFilter({ exclude: ['[ab]/?', '{x,y}/**'] });
    expect(inScope('a/1')).toBe(false);
    expect(inScope('c/1')).toBe(true);
    expect(inScope('a/12')).toBe(true);
    expect(inScope('y/deep/key')).toBe(false);
    expect(inScope('z/deep/key')).toBe(true);
  });

  it('negates a glob with a leading !, excluding every key it does not match', () => {
    // GIVEN exclude !logs/** WHEN keys are tested THEN only keys under logs/ stay in scope
    const inScope = createKeyFilter({ exclude: ['!logs/**'] });
    expect(inScope('logs/x')).toBe(true);
    expect(inScope('data/x')).toBe(false);
  });

  it('treats backslash as an escape, never as a path separator, on every OS', () => {
    // GIVEN a glob with an escaped star WHEN keys are tested THEN the star is literal
    const inScope = createKeyFilter({ exclude: ['a\\*'] });
    expect(inScope('a*')).toBe(false);
    expect(inScope('ab')).toBe(true);
  });

  it('applies exclude on top of prefixes', () => {
    // GIVEN prefix logs/ and exclude **/*.keep WHEN keys are tested THEN both must hold
    const inScope = createKeyFilter({ prefixes: ['logs/'], exclude: ['**/*.keep'] });
    expect(inScope('logs/a')).toBe(true);
    expect(inScope('logs/a.keep')).toBe(false);
    expect(inScope('data/a')).toBe(false);
  });

  it('rejects an empty prefix, an empty prefix list and an empty exclude item', () => {
    // GIVEN empty strings or lists WHEN a filter is built THEN it throws a clear error
    expect(() => createKeyFilter({ prefixes: [''] })).toThrow(/Invalid prefix ""/);
    expect(() => createKeyFilter({ prefixes: [] })).toThrow(/omit it to cover every key/);
    expect(() => createKeyFilter({ exclude: [''] })).toThrow(/Invalid exclude item ""/);
  });
});
