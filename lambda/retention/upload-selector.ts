import { createKeyFilter } from '../engine/key-filter';
import type { RetentionPolicy } from '../engine/retention-policy';
import type { UploadPredicate } from '../engine/uploads/upload-sweep';

/**
 * The incomplete multipart uploads a retention policy aborts: those
 * initiated at least `abortIncompleteUploadsOlderThanMs` before `asOf`, under
 * the policy's prefixes and not excluded, like versions. Undefined when the
 * policy has no upload rule: the run then does not list uploads at all.
 *
 * The age counts to the millisecond from S3's `Initiated`; an upload whose
 * initiation time is unknown is never old enough.
 */
export function retentionUploadSelector(policy: RetentionPolicy, asOf: Date): UploadPredicate | undefined {
  const olderThanMs = policy.abortIncompleteUploadsOlderThanMs;
  if (olderThanMs === undefined) return undefined;
  const inScope = createKeyFilter({ prefixes: policy.prefixes, exclude: policy.exclude });
  const asOfMs = asOf.getTime();
  return (upload) => inScope(upload.key) && asOfMs - upload.initiated.getTime() >= olderThanMs;
}
