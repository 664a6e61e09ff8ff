import { PutObjectRetentionCommand, PutObjectLegalHoldCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../lambda/purge-engine';
import { createS3Client } from '../lambda/s3-client';
import { createBucket, deleteMarker, fill, listAll, put, testClient, testEndpoint, uniqueBucketName } from './support/s3';

let setup: S3Client;
const engineClient = () => createS3Client({ endpoint: testEndpoint(), region: 'us-east-1' });

beforeAll(() => {
  setup = testClient();
});

describe('purgeBucket against a real S3-compatible server', () => {
  test('empties a bucket with versions, delete markers and keys spread over folders', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('mixed'));
    const keys = ['a', 'b/1', 'b/2', 'c/x/1', 'd', 'e/1'];
    await fill(setup, bucket, keys, 3);
    await deleteMarker(setup, bucket, 'a');
    await deleteMarker(setup, bucket, 'b/1');
    const before = await listAll(setup, bucket);
    expect(before).toHaveLength(20);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(result.deleted + result.deleteMarkersDeleted).toBe(20);
    expect(result.deleteMarkersDeleted).toBe(2);
    expect(result.failed).toBe(0);
    expect(result.resumeToken).toBeNull();
  });
});
