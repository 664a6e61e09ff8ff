/** Characters a POSIX shell never treats specially in a word. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for a POSIX shell (sh, bash, zsh): as is when it is
 * plain, else in single quotes, a single quote inside written as '\''.
 */
export function shellQuote(arg: string): string {
  if (PLAIN.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line that a POSIX shell splits back into exactly `args`. */
export function shellCommand(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}
