#!/usr/bin/env node
// Must come first: it configures the AWS SDK before the SDK is loaded.
import './env';
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../../lambda/engine/describe-error';
import { PurgeConfigError } from '../../lambda/engine/errors';
import { PrefixReport } from '../../lambda/retention/prefix-report';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import type { PurgeOptions, PurgeProgress, PurgeResult } from '../../lambda/engine/purge-types';
import { ResumeTokenError, type ResumeToken } from '../../lambda/engine/resume-token';
import type { RetentionPolicy } from '../../lambda/engine/retention-policy';
import { retentionUploadSelector } from '../../lambda/retention/upload-selector';
import { retentionSelector } from '../../lambda/retention/selector';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { isTransient } from '../../lambda/engine/s3/s3-errors';
import { collect, durationOption, endpointOption, instantOption, integerOption } from './options';
import { humanReport, jsonReport } from './report';
import { continueCommand, describeTokenError, readResumeToken, UsageError, writeResumeToken } from './resume';
import { packageVersion } from './version';
import { ProgressDisplay } from './progress-display';

/**
 * Exit codes of the CLI contract: 2 only for usage and configuration errors
 * (and a bucket that cannot be purged, such as MFA Delete), found before
 * anything was deleted; 1 for a run that did not finish, including one that
 * gave up on transient faults.
 */
const EXIT = { ok: 0, incomplete: 1, usage: 2 } as const;

interface CommonFlags {
  bucket: string;
  prefix?: string[];
  endpoint?: string;
  region?: string;
  concurrency?: number;
  dryRun?: boolean;
  md5?: boolean;
  json?: boolean;
  timeLimit?: number;
  resumeToken?: string;
}

interface PurgeFlags extends CommonFlags {
  bypassGovernanceRetention?: boolean;
}

interface RetainFlags extends CommonFlags {
  olderThan?: number;
  keepNoncurrent?: number;
  expiredDeleteMarkers?: boolean;
  abortUploadsOlderThan?: number;
  exclude?: string[];
  asOf?: Date;
  maxDeletions?: number;
}

/** What a command produced: the text for stdout, and the exit code. */
interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr?: string;
}

function addCommonOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--bucket <name>', 'bucket to work on')
    .option('--prefix <prefix>', 'only keys under this prefix (repeatable)', collect)
    .option('--endpoint <url>', 'S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: the SDK configuration, e.g. AWS_ENDPOINT_URL_S3)', endpointOption)
    .option('--region <region>', 'region (default: the SDK configuration)')
    .option('--concurrency <n>', 'most DeleteObjects requests in flight, 1 to 1000 (default 48)', integerOption('--concurrency', 1, 1000))
    .option('--dry-run', 'list and select, delete nothing')
    .option('--md5', 'send Content-MD5 instead of CRC32 on DeleteObjects (older MinIO, Cloudflare R2, OVH)')
    .option('--json', 'print exactly one JSON object on stdout (also on errors)')
    .option('--time-limit <duration>', 'stop cleanly after this long (45s, 90m, 12h) and say how to continue', durationOption)
    .option('--resume-token <json|@file>', 'continue the run that stopped with this token (or its whole --json output)');
}

/** One JSON object on stdout for an error, as `--json` promises. */
function errorJson(code: string, message: string): string {
  return `${JSON.stringify({ error: { code, message } })}\n`;
}

/** What went wrong, with what to do about it when that is known. */
function describeFailure(err: unknown, flags: CommonFlags): string {
  const name = (err as { name?: string }).name ?? '';
  const message = (err as Error).message ?? String(err);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return flags.endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL
      ? 'no AWS credentials found. A local S3 (moto, MinIO, LocalStack) still needs some: set AWS_ACCESS_KEY_ID and ' +
          'AWS_SECRET_ACCESS_KEY, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test for moto (MinIO: its root user and password).'
      : 'no AWS credentials found. Configure them as for the AWS CLI: AWS_PROFILE, aws configure, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';
  }
  if (name === 'AccessDenied') {
    return `${message}\n  The credentials in use may not list or delete in ${flags.bucket}; check s3:ListBucketVersions and s3:DeleteObjectVersion.`;
  }
  if (/ECONNREFUSED|ENOTFOUND/.test(String((err as { code?: string }).code ?? message))) {
    return `${message}\n  Could not reach the endpoint${flags.endpoint ? ` ${flags.endpoint}` : ''}; check --endpoint or AWS_ENDPOINT_URL_S3.`;
  }
  return message;
}

function errorCodeOf(err: unknown): string {
  const name = (err as { name?: string }).name;
  if (name === 'CredentialsProviderError') return 'NoCredentials';
  return name && name !== 'Error' ? name : 'Error';
}

/** An error outcome: JSON on stdout with --json, the message on stderr. */
function failure(flags: CommonFlags, code: string, message: string, exit: number): Outcome {
  return { code: exit, stdout: flags.json ? errorJson(code, message) : '', stderr: `version-purger: ${message}\n` };
}

/** Runs one command: reads the token, runs the engine, and turns the result or the error into an outcome. */
async function run(flags: CommonFlags, engine: Partial<PurgeOptions>, args: readonly string[], report?: PrefixReport): Promise<Outcome> {
  let resumeToken: unknown;
  try {
    resumeToken = readResumeToken(flags.resumeToken);
  } catch (err) {
    if (err instanceof UsageError) return failure(flags, err.code, err.message, EXIT.usage);
    throw err;
  }
  const client = createS3Client({ endpoint: flags.endpoint, region: flags.region, md5: flags.md5 });
  const display = !flags.json && ProgressDisplay.wanted() ? new ProgressDisplay(flags.dryRun ? 'Listing' : 'Deleting') : undefined;
  let last: PurgeProgress | undefined;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    const result = await purgeBucket({
      client,
      bucket: flags.bucket,
      prefixes: flags.prefix,
      concurrency: flags.concurrency,
      dryRun: flags.dryRun,
      deadline: flags.timeLimit !== undefined ? Date.now() + flags.timeLimit : undefined,
      resumeToken: resumeToken as ResumeToken | undefined,
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
        display?.update(p);
      },
      onSelected: report ? (e) => report.add(e) : undefined,
      ...engine,
    });
    display?.stop();
    return resultOutcome(result, flags, args, report);
  } catch (err) {
    display?.stop();
    return errorOutcome(err, flags, last);
  } finally {
    process.removeListener('SIGINT', onSignal);
    client.destroy();
  }
}

/**
 * A run that threw. Exit 2 for what the user must fix (a token of another
 * run, a configuration the bucket refuses, an error before anything was
 * deleted); exit 1 when the store kept failing or when something was deleted.
 */
function errorOutcome(err: unknown, flags: CommonFlags, last: PurgeProgress | undefined): Outcome {
  if (err instanceof ResumeTokenError) return failure(flags, err.name, describeTokenError(err), EXIT.usage);
  if (err instanceof PurgeConfigError || err instanceof RangeError) return failure(flags, errorCodeOf(err), (err as Error).message, EXIT.usage);
  const deleted = last ? last.deleted + last.deleteMarkersDeleted : 0;
  if (isTransient(err)) {
    // Not the user's mistake: the store kept failing. Only the engine's set-up calls get here, before any deletion.
    const done = deleted === 0 ? 'Nothing was deleted.' : `${deleted} versions and delete markers were deleted.`;
    const message = (err as Error).message ?? '';
    const detail = describeFailure(err, flags);
    const hint = detail.startsWith(message) ? detail.slice(message.length) : '';
    const text = `gave up on a transient fault after retrying it: ${describeError(err)}${hint}\n  ${done} Run the same command again to continue.`;
    return failure(flags, errorCodeOf(err), text, EXIT.incomplete);
  }
  return failure(flags, errorCodeOf(err), describeFailure(err, flags), deleted === 0 ? EXIT.usage : EXIT.incomplete);
}

/** A run that ended: the report, the exit code, and for a stopped run the token file and the command that continues it. */
function resultOutcome(result: PurgeResult, flags: CommonFlags, args: readonly string[], report?: PrefixReport): Outcome {
  if (result.bucketMissing && result.mode === 'retain') {
    // A typo in a retention schedule must not pass as "nothing to do".
    return failure(flags, 'NoSuchBucket', `bucket ${flags.bucket} does not exist`, EXIT.usage);
  }
  const code = result.failed > 0 || result.uploadsFailed > 0 || result.resumeToken !== null || result.fault !== null ? EXIT.incomplete : EXIT.ok;
  const stderr = result.fault
    ? `version-purger: gave up on a transient fault after retrying it: ${result.fault.operation}: ${result.fault.code}: ` +
      `${result.fault.message}\n  The report shows what was done so far; continue with its resume token (--resume-token).\n`
    : undefined;
  if (flags.json) return { code, stdout: `${JSON.stringify(jsonReport(result, report))}\n`, stderr };
  let resume: { file: string; command: string } | undefined;
  if (result.resumeToken) {
    const file = writeResumeToken(result.resumeToken, flags.bucket);
    resume = { file, command: continueCommand(args, file) };
  }
  return { code, stdout: `${humanReport(result, report, resume)}\n`, stderr };
}

/** Builds the `version-purger` program; `done` receives each command's outcome. */
export function buildProgram(done: (outcome: Outcome) => void, args: readonly string[]): Command {
  const program = new Command('version-purger')
    .description('Empty versioned S3 buckets fast and safely, or clean up noncurrent versions by a retention policy.')
    .version(packageVersion(), '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addCommonOptions(program.command('purge').description('delete every version and delete marker (of the prefixes, if given)'))
    .option('--bypass-governance-retention', 'also delete versions under GOVERNANCE Object Lock retention')
    .action(async (flags: PurgeFlags) => {
      done(await run(flags, { mode: 'purge', bypassGovernanceRetention: flags.bypassGovernanceRetention }, args));
    });

  addCommonOptions(
    program
      .command('retain')
      .description('delete noncurrent versions and expired delete markers by a retention policy; never the current version'),
  )
    .option('--older-than <duration>', 'delete noncurrent versions noncurrent for at least this long (45s, 90m, 12h, 30d)', durationOption)
    .option('--keep-noncurrent <n>', 'always keep the N newest noncurrent versions of each key (0 or more)', integerOption('--keep-noncurrent', 0))
    .option('--expired-delete-markers', 'delete current delete markers that have nothing left behind them')
    .option(
      '--abort-uploads-older-than <duration>',
      'abort incomplete multipart uploads started at least this long before --as-of (0s, 90m, 12h, 7d)',
      durationOption,
    )
    .option('--exclude <pattern>', 'never touch keys under this prefix or matching this glob (repeatable)', collect)
    .addOption(new Option('--as-of <iso-8601>', 'evaluate ages as of this instant (preview a future date)').argParser(instantOption))
    .option('--max-deletions <n>', 'stop after this many deletions (1 or more)', integerOption('--max-deletions', 1))
    .action(async (flags: RetainFlags) => {
      const noRule = flags.olderThan === undefined && flags.keepNoncurrent === undefined && flags.abortUploadsOlderThan === undefined;
      if (noRule && !flags.expiredDeleteMarkers) {
        throw new UsageError(
          'retain needs at least one rule: --older-than, --keep-noncurrent, --expired-delete-markers or --abort-uploads-older-than. ' +
            'Retention never means "delete everything"; use the purge command for that.',
        );
      }
      const policy: RetentionPolicy = {
        noncurrentVersionsOlderThanMs: flags.olderThan,
        keepNoncurrentVersions: flags.keepNoncurrent,
        expiredDeleteMarkers: flags.expiredDeleteMarkers,
        abortIncompleteUploadsOlderThanMs: flags.abortUploadsOlderThan,
        prefixes: flags.prefix,
        exclude: flags.exclude,
      };
      const asOf = flags.asOf ?? new Date();
      let selector;
      try {
        selector = retentionSelector(policy, asOf);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const abortUploads = retentionUploadSelector(policy, asOf);
      const report = new PrefixReport();
      done(await run(flags, { mode: 'retain', selector, abortUploads, policy, maxDeletions: flags.maxDeletions }, args, report));
    });
  return program;
}

/** Runs the CLI on `argv` (`process.argv` shape); never throws. */
export async function main(argv: readonly string[]): Promise<Outcome> {
  const args = argv.slice(2);
  // Known before parsing, so that a usage error is JSON too.
  const json = args.includes('--json');
  const usage = (message: string): Outcome => ({
    code: EXIT.usage,
    stdout: json ? errorJson('UsageError', message) : '',
    stderr: `version-purger: ${message}\n`,
  });
  let outcome: Outcome | undefined;
  const program = buildProgram((o) => (outcome = o), args);
  let commanderSaid = '';
  // Commander's messages are printed with the outcome, in one piece.
  const capture = { outputError: (text: string) => (commanderSaid += text), writeErr: (text: string) => (commanderSaid += text) };
  for (const cmd of [program, ...program.commands]) cmd.configureOutput(capture);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return { code: EXIT.ok, stdout: '' };
      return { ...usage(err.message.replace(/^error: /, '')), stderr: commanderSaid || `${err.message}\n` };
    }
    if (err instanceof UsageError) return usage(err.message);
    const message = (err as Error).stack ?? String(err);
    return { code: EXIT.usage, stdout: json ? errorJson(errorCodeOf(err), (err as Error).message ?? String(err)) : '', stderr: `version-purger: ${message}\n` };
  }
  return outcome ?? usage('no command given: use purge or retain (run with --help for usage)');
}

/** Resolves once everything written so far to `stream` has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

if (require.main === module) {
  // A reader that went away (`| head`) is not an error of the run.
  process.stdout.on('error', () => undefined);
  void main(process.argv).then(async (outcome) => {
    if (outcome.stderr) process.stderr.write(outcome.stderr);
    if (outcome.stdout) process.stdout.write(outcome.stdout);
    // process.exit() right after a write to a pipe would cut the output at the
    // pipe's buffer size (64 KiB): wait until both streams are flushed.
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(outcome.code);
  });
}
