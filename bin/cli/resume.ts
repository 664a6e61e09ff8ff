import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ResumeTokenError } from '../../lambda/engine/resume-token';
import { shellCommand } from './shell-quote';

/** A problem with what the user typed: exit 2, nothing deleted. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** Machine-readable code for `--json` error output. */
    public readonly code = 'UsageError',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const OPTION = '--resume-token';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `--resume-token`: a token as JSON, `@file` holding one, or the whole
 * `--json` output of the run that stopped (its `resumeToken` field is used).
 */
export function readResumeToken(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  let text = value;
  let source = `${OPTION}`;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    source = `${OPTION} @${file}`;
    if (!existsSync(file)) throw new UsageError(`${source}: no such file (${resolve(file)}). Pass the file a stopped run wrote, or the token itself.`);
    text = readFileSync(file, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${source} is not valid JSON: pass the resumeToken object a previous run printed, or @file`);
  }
  if (isObject(parsed) && 'error' in parsed && !('v' in parsed)) {
    throw new UsageError(`${source} is the error output of a run, not a resume token: there is nothing to resume.`);
  }
  if (isObject(parsed) && 'resumeToken' in parsed && 'bucket' in parsed && !('v' in parsed)) {
    // The whole --json output of a run.
    if (parsed.resumeToken === null) {
      throw new UsageError(`${source} is the output of a run that finished (its resumeToken is null): there is nothing to resume.`);
    }
    return parsed.resumeToken;
  }
  return parsed;
}

/** The CLI option behind each field of a token's run identity. */
const OPTION_OF_FIELD: Record<string, string> = {
  bucket: '--bucket',
  mode: 'command (purge or retain)',
  dryRun: '--dry-run setting',
  prefixes: '--prefix values',
  policy: 'retention rules',
  'policy.noncurrentVersionsOlderThanMs': '--older-than',
  'policy.keepNoncurrentVersions': '--keep-noncurrent',
  'policy.expiredDeleteMarkers': '--expired-delete-markers setting',
  'policy.exclude': '--exclude values',
};

/** A refused token, said in terms of the CLI's options. */
export function describeTokenError(err: ResumeTokenError): string {
  const option = err.field ? OPTION_OF_FIELD[err.field] : undefined;
  const hint = option ? ` Use the same ${option} as the run that printed the token.` : '';
  const said = err.message.endsWith('.') ? err.message : `${err.message}.`;
  return `${OPTION}: ${said}${hint}`;
}

/**
 * Writes a stopped run's token to a file: in the current directory, or in the
 * temporary directory when that is not writable. Returns its absolute path.
 */
export function writeResumeToken(token: unknown, bucket: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const name = `version-purger-${bucket}-${stamp}.resume.json`;
  const text = `${JSON.stringify(token)}\n`;
  for (const dir of [process.cwd(), tmpdir()]) {
    const file = join(dir, name);
    try {
      writeFileSync(file, text, { flag: 'w', mode: 0o600 });
      return file;
    } catch {
      // Not writable: try the next place.
    }
  }
  throw new Error(`could not write the resume token to ${process.cwd()} or ${tmpdir()}`);
}

/**
 * The command that continues a stopped run: the arguments the user gave,
 * without any earlier resume token, plus the endpoint when it came from the
 * environment, plus `--resume-token @file`; quoted for a POSIX shell.
 */
export function continueCommand(args: readonly string[], tokenFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === OPTION) {
      i++;
      continue;
    }
    if (args[i].startsWith(`${OPTION}=`)) continue;
    kept.push(args[i]);
  }
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const hasEndpoint = kept.some((a) => a === '--endpoint' || a.startsWith('--endpoint='));
  if (!hasEndpoint && endpoint) kept.push('--endpoint', endpoint);
  return shellCommand(['version-purger', ...kept, OPTION, `@${tokenFile}`]);
}
