#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../lambda/describe-error';
import { PurgeConfigError } from '../lambda/errors';
import { PrefixReport } from '../lambda/prefix-report';
import { purgeBucket } from '../lambda/purge-engine';
import type { PurgeOptions, PurgeProgress, PurgeResult, ResumeToken } from '../lambda/purge-types';
import { retentionSelector } from '../lambda/retention-selector';
import { createS3Client } from '../lambda/s3-client';
import { isTransient } from '../lambda/s3-errors';
import { collect, durationOption, instantOption, integerOption } from './cli-options';
import { humanReport, jsonReport } from './cli-report';
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
  exclude?: string[];
  asOf?: Date;
  maxDeletions?: number;
}

class UsageError extends Error {}

function addCommonOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--bucket <name>', 'bucket to work on')
    .option('--prefix <prefix>', 'only keys under this prefix (repeatable)', collect)
    .option('--endpoint <url>', 'S3-compatible endpoint (default: the SDK configuration, e.g. AWS_ENDPOINT_URL_S3)')
    .option('--region <region>', 'region (default: the SDK configuration)')
    .option('--concurrency <n>', 'most DeleteObjects requests in flight (default 32)', integerOption('--concurrency', 1, 1000))
    .option('--dry-run', 'list and select, delete nothing')
    .option('--md5', 'send Content-MD5 instead of CRC32 on DeleteObjects (older MinIO, Cloudflare R2, OVH)')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--time-limit <duration>', 'stop cleanly after this long (45s, 90m, 12h) and print a resume token', durationOption)
    .option('--resume-token <json|@file>', 'continue the run that printed this token');
}

function readResumeToken(value: string | undefined): ResumeToken | undefined {
  if (value === undefined) return undefined;
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text) as ResumeToken;
  } catch {
    throw new UsageError('--resume-token is not valid JSON: pass the resumeToken object a previous run printed, or @file');
  }
}

async function run(flags: CommonFlags, engine: Partial<PurgeOptions>, report?: PrefixReport): Promise<number> {
  const client = createS3Client({ endpoint: flags.endpoint, region: flags.region, md5: flags.md5 });
  const display = !flags.json && ProgressDisplay.wanted() ? new ProgressDisplay(flags.dryRun ? 'Listing' : 'Deleting') : undefined;
  let last: PurgeProgress | undefined;
  let result: PurgeResult;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    result = await purgeBucket({
      client,
      bucket: flags.bucket,
      prefixes: flags.prefix,
      concurrency: flags.concurrency,
      dryRun: flags.dryRun,
      deadline: flags.timeLimit !== undefined ? Date.now() + flags.timeLimit : undefined,
      resumeToken: readResumeToken(flags.resumeToken),
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
        display?.update(p);
      },
      onSelected: report ? (e) => report.add(e) : undefined,
      ...engine,
    });
  } catch (err) {
    display?.stop();
    const deleted = last ? last.deleted + last.deleteMarkersDeleted : 0;
    const hint = err instanceof PurgeConfigError || err instanceof RangeError ? '' : describeFailure(err, flags);
    if (isTransient(err)) {
      // Not the user's mistake: the store kept failing. Only the engine's set-up calls get here, before any deletion.
      const done = deleted === 0 ? 'Nothing was deleted.' : `${deleted} versions and delete markers were deleted.`;
      process.stderr.write(`version-purger: gave up on a transient fault after retrying it: ${describeError(err)}${hint}\n  ${done} Run the same command again to continue.\n`);
      return EXIT.incomplete;
    }
    process.stderr.write(`version-purger: ${(err as Error).message}${hint}\n`);
    return deleted === 0 ? EXIT.usage : EXIT.incomplete;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
  display?.stop();
  process.stdout.write(flags.json ? `${JSON.stringify(jsonReport(result, report))}\n` : `${humanReport(result, report)}\n`);
  if (result.fault) {
    const { operation, code, message } = result.fault;
    process.stderr.write(
      `version-purger: gave up on a transient fault after retrying it: ${operation}: ${code}: ${message}\n` +
        '  The report shows what was done so far; continue with its resume token (--resume-token).\n',
    );
  }
  return result.failed > 0 || result.resumeToken !== null || result.fault !== null ? EXIT.incomplete : EXIT.ok;
}

function describeFailure(err: unknown, flags: CommonFlags): string {
  const name = (err as { name?: string }).name ?? '';
  if (name === 'AccessDenied') return `\n  The credentials in use may not list or delete in ${flags.bucket}; check s3:ListBucketVersions and s3:DeleteObjectVersion.`;
  if (/ECONNREFUSED|ENOTFOUND/.test(String((err as { code?: string }).code ?? (err as Error).message))) {
    return `\n  Could not reach the endpoint${flags.endpoint ? ` ${flags.endpoint}` : ''}; check --endpoint or AWS_ENDPOINT_URL_S3.`;
  }
  return '';
}

/** Builds the `version-purger` program. Exported for tests. */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('version-purger')
    .description('Empty versioned S3 buckets fast and safely, or clean up noncurrent versions by a retention policy.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addCommonOptions(program.command('purge').description('delete every version and delete marker (of the prefixes, if given)'))
    .option('--bypass-governance-retention', 'also delete versions under GOVERNANCE Object Lock retention')
    .action(async (flags: PurgeFlags) => {
      exit(await run(flags, { mode: 'purge', bypassGovernanceRetention: flags.bypassGovernanceRetention }));
    });

  addCommonOptions(
    program
      .command('retain')
      .description('delete noncurrent versions and expired delete markers by a retention policy; never the current version'),
  )
    .option('--older-than <duration>', 'delete noncurrent versions noncurrent for at least this long (45s, 90m, 12h, 30d)', durationOption)
    .option('--keep-noncurrent <n>', 'always keep the N newest noncurrent versions of each key', integerOption('--keep-noncurrent', 0))
    .option('--expired-delete-markers', 'delete current delete markers that have nothing left behind them')
    .option('--exclude <pattern>', 'never touch keys under this prefix or matching this glob (repeatable)', collect)
    .addOption(new Option('--as-of <iso-8601>', 'evaluate ages as of this instant (preview a future date)').argParser(instantOption))
    .option('--max-deletions <n>', 'stop after this many deletions', integerOption('--max-deletions', 1))
    .action(async (flags: RetainFlags) => {
      if (flags.olderThan === undefined && flags.keepNoncurrent === undefined && !flags.expiredDeleteMarkers) {
        throw new UsageError(
          'retain needs at least one rule: --older-than, --keep-noncurrent or --expired-delete-markers. ' +
            'Retention never means "delete everything"; use the purge command for that.',
        );
      }
      let selector;
      try {
        selector = retentionSelector(
          {
            noncurrentVersionsOlderThanMs: flags.olderThan,
            keepNoncurrentVersions: flags.keepNoncurrent,
            expiredDeleteMarkers: flags.expiredDeleteMarkers,
            prefixes: flags.prefix,
            exclude: flags.exclude,
          },
          flags.asOf ?? new Date(),
        );
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const report = new PrefixReport();
      exit(await run(flags, { mode: 'retain', selector, maxDeletions: flags.maxDeletions }, report));
    });
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`version-purger: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  return code;
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`version-purger: ${(err as Error).stack ?? err}\n`);
      process.exit(EXIT.usage);
    },
  );
}
