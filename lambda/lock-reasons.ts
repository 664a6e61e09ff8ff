import { GetObjectLegalHoldCommand, GetObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DeleteFailure } from './types';

/**
 * Rewrites AccessDenied failures of an Object Lock bucket so that each says
 * which lock holds the version: COMPLIANCE or GOVERNANCE retention (until
 * when) or a legal hold. Only the reported failures are looked up.
 */
export async function explainLockFailures(
  client: S3Client,
  bucket: string,
  failures: readonly DeleteFailure[],
  bypassGovernanceRetention: boolean,
): Promise<DeleteFailure[]> {
  return Promise.all(
    failures.map(async (failure) => {
      if (failure.code !== 'AccessDenied') return failure;
      const reasons = await lockReasons(client, bucket, failure, bypassGovernanceRetention);
      return reasons.length === 0 ? failure : { ...failure, message: `${failure.message}: ${reasons.join('; ')}` };
    }),
  );
}

async function lockReasons(client: S3Client, bucket: string, f: DeleteFailure, bypass: boolean): Promise<string[]> {
  const reasons: string[] = [];
  const input = { Bucket: bucket, Key: f.key, VersionId: f.versionId };
  const [retention, hold] = await Promise.allSettled([
    client.send(new GetObjectRetentionCommand(input)),
    client.send(new GetObjectLegalHoldCommand(input)),
  ]);
  if (hold.status === 'fulfilled' && hold.value.LegalHold?.Status === 'ON') reasons.push('legal hold is ON');
  if (retention.status === 'fulfilled' && retention.value.Retention?.Mode) {
    const { Mode, RetainUntilDate } = retention.value.Retention;
    const until = RetainUntilDate ? new Date(RetainUntilDate).toISOString() : 'unknown';
    if (!RetainUntilDate || new Date(RetainUntilDate).getTime() > Date.now()) {
      const hint = Mode === 'GOVERNANCE' && !bypass ? ' (enable bypassGovernanceRetention to delete it)' : '';
      reasons.push(`${Mode} retention until ${until}${hint}`);
    }
  }
  return reasons;
}
