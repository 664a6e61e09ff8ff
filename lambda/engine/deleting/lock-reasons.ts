import { GetObjectLegalHoldCommand, GetObjectRetentionCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DeleteFailure } from '../types';

/** The Object Lock state of one version, as far as it could be read. */
interface LockState {
  mode?: string;
  retainUntil?: Date;
  legalHold?: boolean;
}

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
      const reasons = describeLock(await readLockState(client, bucket, failure), bypassGovernanceRetention);
      return reasons.length === 0 ? failure : { ...failure, message: `${failure.message}: ${reasons.join('; ')}` };
    }),
  );
}

function describeLock(state: LockState, bypass: boolean): string[] {
  const reasons: string[] = [];
  if (state.legalHold) reasons.push('legal hold is ON');
  if (state.mode && (!state.retainUntil || state.retainUntil.getTime() > Date.now())) {
    const until = state.retainUntil ? state.retainUntil.toISOString() : 'an unknown date';
    const hint = state.mode === 'GOVERNANCE' && !bypass ? ' (enable bypassGovernanceRetention to delete it)' : '';
    reasons.push(`${state.mode} retention until ${until}${hint}`);
  }
  return reasons;
}

/**
 * Reads retention and legal hold with their own APIs, and falls back to
 * HeadObject's lock headers where a store lacks them (moto answers 500 to
 * GetObjectRetention).
 */
async function readLockState(client: S3Client, bucket: string, f: DeleteFailure): Promise<LockState> {
  const input = { Bucket: bucket, Key: f.key, VersionId: f.versionId };
  const [retention, hold] = await Promise.allSettled([
    client.send(new GetObjectRetentionCommand(input)),
    client.send(new GetObjectLegalHoldCommand(input)),
  ]);
  if (retention.status === 'fulfilled' && hold.status === 'fulfilled') {
    return {
      mode: retention.value.Retention?.Mode,
      retainUntil: retention.value.Retention?.RetainUntilDate ? new Date(retention.value.Retention.RetainUntilDate) : undefined,
      legalHold: hold.value.LegalHold?.Status === 'ON',
    };
  }
  try {
    const head = await client.send(new HeadObjectCommand(input));
    return {
      mode: head.ObjectLockMode,
      retainUntil: head.ObjectLockRetainUntilDate ? new Date(head.ObjectLockRetainUntilDate) : undefined,
      legalHold: head.ObjectLockLegalHoldStatus === 'ON',
    };
  } catch {
    return {
      legalHold: hold.status === 'fulfilled' ? hold.value.LegalHold?.Status === 'ON' : undefined,
    };
  }
}
