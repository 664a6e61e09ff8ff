/**
 * One page of ListObjectVersions as the engine sees it: versions and delete
 * markers merged back into S3's order, URL-encoded keys decoded only when the
 * response says so, and a range's upper bound trimming the page.
 */
import {
  ListObjectVersionsCommand,
  S3Client,
  type DeleteMarkerEntry,
  type ListObjectVersionsCommandOutput,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { listVersionPage, mergePageEntries } from '../../../lambda/engine/listing/version-listing';

const s3 = mockClient(S3Client);

function newClient(): S3Client {
  return new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
}

const at = (seconds: number) => new Date(Date.UTC(2024, 0, 1) + seconds * 1000);
const version = (Key: string, VersionId: string, seconds: number, IsLatest = false, Size = 5): ObjectVersion => ({ Key, VersionId, LastModified: at(seconds), IsLatest, Size });
const marker = (Key: string, VersionId: string, seconds: number, IsLatest = false): DeleteMarkerEntry => ({ Key, VersionId, LastModified: at(seconds), IsLatest });
const page = (p: Partial<ListObjectVersionsCommandOutput>): ListObjectVersionsCommandOutput => ({ $metadata: {}, ...p });
const order = (entries: Array<{ key: string; versionId: string }>) => entries.map((e) => `${e.key}@${e.versionId}`);

let client: S3Client;

beforeEach(() => {
  s3.reset();
  client = newClient();
});

afterAll(() => s3.restore());

describe('mergePageEntries', () => {
  it("interleaves one key's versions and delete markers: the current entry first, then newest first", () => {
    // GIVEN key k whose history, newest first, is: marker m2 (current), version v2, marker m1, version v1
    const output = page({
      Versions: [version('k', 'v2', 30), version('k', 'v1', 10)],
      DeleteMarkers: [marker('k', 'm2', 40, true), marker('k', 'm1', 20)],
    });

    // WHEN the page is merged
    const entries = mergePageEntries(output);

    // THEN the true order is restored, with the kind of each entry
    expect(order(entries)).toEqual(['k@m2', 'k@v2', 'k@m1', 'k@v1']);
    expect(entries.map((e) => e.isDeleteMarker)).toEqual([true, false, true, false]);
    expect(entries.map((e) => e.isLatest)).toEqual([true, false, false, false]);
  });

  it('puts the IsLatest entry first even when it has the same LastModified second as an older one (moto)', () => {
    // GIVEN a version and a newer current delete marker written within the same second
    const output = page({ Versions: [version('k', 'v1', 10)], DeleteMarkers: [marker('k', 'm1', 10, true)] });

    // WHEN the page is merged
    // THEN the current marker comes first
    expect(order(mergePageEntries(output))).toEqual(['k@m1', 'k@v1']);

    // AND when the current entry is the version, it comes first
    const other = page({ Versions: [version('k', 'v2', 10, true)], DeleteMarkers: [marker('k', 'm1', 10)] });
    expect(order(mergePageEntries(other))).toEqual(['k@v2', 'k@m1']);
  });

  it('puts the version first on a LastModified tie between two noncurrent entries (moto lists versions first)', () => {
    // GIVEN a noncurrent version and a noncurrent marker of the same second
    const output = page({ Versions: [version('k', 'v1', 10)], DeleteMarkers: [marker('k', 'm1', 10)] });

    // WHEN the page is merged
    // THEN the version comes first
    expect(order(mergePageEntries(output))).toEqual(['k@v1', 'k@m1']);
  });

  it('orders keys in UTF-8 byte order across the two arrays, so U+FFFF comes before U+10000', () => {
    // GIVEN versions of "a" and of U+10000, and a delete marker of U+FFFF, each array in S3 (UTF-8) order
    const output = page({
      Versions: [version('a', 'va', 1, true), version('\u{10000}', 'vx', 1, true)],
      DeleteMarkers: [marker('\uffff', 'mf', 1, true), marker('\u{10000}', 'mx', 0)],
    });

    // WHEN the page is merged
    const entries = mergePageEntries(output);

    // THEN keys ascend in UTF-8 order (UTF-16 order would put U+10000 before U+FFFF)
    expect(order(entries)).toEqual(['a@va', '\uffff@mf', '\u{10000}@vx', '\u{10000}@mx']);
  });

  it('reads a missing VersionId as "null" and gives delete markers size 0', () => {
    // GIVEN an object written before versioning and a marker, both without VersionId
    const output = page({
      Versions: [{ Key: 'old', IsLatest: false, LastModified: at(1), Size: 42 }],
      DeleteMarkers: [{ Key: 'old', IsLatest: true, LastModified: at(2) }],
    });

    // WHEN the page is merged
    const entries = mergePageEntries(output);

    // THEN both carry the version id "null", sizes as listed
    expect(entries.map((e) => [e.versionId, e.isDeleteMarker, e.size])).toEqual([
      ['null', true, 0],
      ['null', false, 42],
    ]);
  });

  it('decodes URL-encoded keys when the response says EncodingType url: "+" is a space, "%2B" a plus', () => {
    // GIVEN an EncodingType=url answer
    const output = page({
      EncodingType: 'url',
      Versions: [version('a+b%2Bc', 'v1', 1, true), version('caf%C3%A9%2F100%25', 'v2', 1, true)],
      DeleteMarkers: [marker('a+b%2Bc', 'm0', 0)],
    });

    // WHEN the page is merged
    // THEN the keys are decoded
    expect(order(mergePageEntries(output))).toEqual(['a b+c@v1', 'a b+c@m0', 'café/100%@v2']);
  });

  it('leaves raw keys alone when the response has no EncodingType (moto), even keys that are not valid URL encoding', () => {
    // GIVEN a raw answer with "%" and "+" in keys
    const output = page({ Versions: [version('a%b', 'v1', 1, true), version('a+b', 'v2', 1, true)], DeleteMarkers: [marker('a%2B', 'm1', 1, true)] });

    // WHEN the page is merged
    // THEN the keys are kept byte for byte (decodeURIComponent('a%b') would throw)
    expect(mergePageEntries(output).map((e) => e.key)).toEqual(['a%2B', 'a%b', 'a+b']);
  });
});

describe('listVersionPage', () => {
  it('asks for URL encoding and decodes NextKeyMarker as well as the keys', async () => {
    // GIVEN a truncated EncodingType=url page whose NextKeyMarker needs decoding
    s3.on(ListObjectVersionsCommand).resolves({
      EncodingType: 'url',
      IsTruncated: true,
      NextKeyMarker: 'x+y%2Bz',
      NextVersionIdMarker: 'v9',
      Versions: [version('x+y%2Bz', 'v9', 1, true)],
    });

    // WHEN the page is listed
    const result = await listVersionPage(client, 'bkt', { prefix: '' }, {});

    // THEN the request asked for URL encoding
    expect(s3.commandCalls(ListObjectVersionsCommand)[0].args[0].input).toMatchObject({ Bucket: 'bkt', EncodingType: 'url', MaxKeys: 1000 });
    // AND the key and the next marker are decoded, the version id marker left as is
    expect(result.entries.map((e) => e.key)).toEqual(['x y+z']);
    expect(result.next).toEqual({ keyMarker: 'x y+z', versionIdMarker: 'v9' });
  });

  it('keeps a raw NextKeyMarker as is when the response has no EncodingType (moto)', async () => {
    // GIVEN a truncated raw page whose last key holds "%"
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: true, NextKeyMarker: 'a%b', NextVersionIdMarker: 'v1', Versions: [version('a%b', 'v1', 1, true)] });

    // WHEN the page is listed
    const result = await listVersionPage(client, 'bkt', { prefix: '' }, {});

    // THEN the marker is the raw key
    expect(result.next).toEqual({ keyMarker: 'a%b', versionIdMarker: 'v1' });
  });

  it("trims a page at the range's upper bound and ends the range there", async () => {
    // GIVEN a truncated page running past the range's bound "m" (two versions of m, then n and o)
    s3.on(ListObjectVersionsCommand).resolves({
      IsTruncated: true,
      NextKeyMarker: 'o',
      NextVersionIdMarker: 'o1',
      Versions: [version('k', 'k1', 1, true), version('m', 'm2', 2, true), version('m', 'm1', 1), version('n', 'n1', 1, true), version('o', 'o1', 1, true)],
    });

    // WHEN the range (…, "m"] is listed
    const result = await listVersionPage(client, 'bkt', { prefix: '', through: 'm' }, {});

    // THEN only keys up to and including m are returned, and the range is done
    expect(order(result.entries)).toEqual(['k@k1', 'm@m2', 'm@m1']);
    expect(result.next).toBeNull();
  });

  it('continues a range whose page ends before its upper bound', async () => {
    // GIVEN a truncated page whose entries all fall within the range
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: true, NextKeyMarker: 'b', NextVersionIdMarker: 'b1', Versions: [version('a', 'a1', 1, true), version('b', 'b1', 1, true)] });

    // WHEN the range (…, "m"] is listed
    const result = await listVersionPage(client, 'bkt', { prefix: '', through: 'm' }, {});

    // THEN the page is whole and the range goes on from the marker
    expect(result.entries).toHaveLength(2);
    expect(result.next).toEqual({ keyMarker: 'b', versionIdMarker: 'b1' });
  });

  it('ends the range when the page is not truncated', async () => {
    // GIVEN the last page of a listing
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false, Versions: [version('a', 'a1', 1, true)] });

    // WHEN it is listed
    const result = await listVersionPage(client, 'bkt', { prefix: '' }, {});

    // THEN there is no next page
    expect(result.next).toBeNull();
  });

  it("starts a range after its lower bound without a VersionIdMarker, and a later page from the cursor's key and version", async () => {
    // GIVEN any answer
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false });

    // WHEN the range ("p/c", …] under "p/" is listed from its start, then from a cursor
    await listVersionPage(client, 'bkt', { prefix: 'p/', after: 'p/c' }, {});
    await listVersionPage(client, 'bkt', { prefix: 'p/', after: 'p/c' }, { keyMarker: 'p/d', versionIdMarker: 'v7' });

    // THEN the first request starts after the bound alone, the second at the cursor
    const inputs = s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({ Prefix: 'p/', KeyMarker: 'p/c' });
    expect(inputs[0].VersionIdMarker).toBeUndefined();
    expect(inputs[1]).toMatchObject({ Prefix: 'p/', KeyMarker: 'p/d', VersionIdMarker: 'v7' });
  });

  it('falls back to the last entry as the cursor when a store omits NextKeyMarker', async () => {
    // GIVEN a truncated page without NextKeyMarker
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: true, Versions: [version('a', 'a2', 2, true), version('a', 'a1', 1)] });

    // WHEN it is listed
    const result = await listVersionPage(client, 'bkt', { prefix: '' }, {});

    // THEN the next page starts after the last entry listed
    expect(result.next).toEqual({ keyMarker: 'a', versionIdMarker: 'a1' });
  });
});
