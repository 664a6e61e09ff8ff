/**
 * The lean ListObjectVersions reader agrees with the SDK's own parser on every
 * field the engine uses. Both read the same bytes: the SDK through a client
 * whose transport answers with the page (its full middleware stack and
 * deserializer run), the lean reader through the same client with its
 * middleware installed.
 */
import { Readable } from 'node:stream';
import { ListObjectVersionsCommand, S3Client, type ListObjectVersionsCommandOutput } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { ListVersionsScan, scanListVersions } from '../../../lambda/engine/listing/list-versions-scanner';
import { readLeanly } from '../../../lambda/engine/listing/lean-list-middleware';
import { listVersionPage, mergePageEntries } from '../../../lambda/engine/listing/version-listing';

/** A client whose every request is answered with `status` and `body`, without a network. */
function answering(status: number, body: string, headers: Record<string, string> = {}): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: {
      handle: async () => ({ response: { statusCode: status, headers: { 'content-type': 'application/xml', ...headers }, body: Readable.from([Buffer.from(body, 'utf8')]) } }),
    },
  });
}

async function sdkReading(xml: string): Promise<ListObjectVersionsCommandOutput> {
  return answering(200, xml).send(new ListObjectVersionsCommand({ Bucket: 'b' }));
}

// ---- Random pages, written the many ways XML allows -------------------------------------------

type Style = 'raw' | 'named' | 'dec' | 'hex' | 'cdata';
const NAMED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** One character as XML text in the chosen style, falling back to what XML allows for it. */
function writeChar(ch: string, style: Style): string {
  const code = ch.codePointAt(0)!;
  const mustEscape = code < 0x20 && ch !== '\t' && ch !== '\n';
  // A raw CR would be normalised to LF by any XML reader; the SDK keeps only 16 bits of an astral reference.
  if (style === 'named' && NAMED[ch]) return NAMED[ch];
  if (style === 'cdata' && ch === '\n') return '\r\n'; // read as one LF
  if ((style === 'dec' || mustEscape || ch === '\r') && code <= 0xffff) return `&#${code};`;
  if (style === 'hex' && code <= 0xffff) return `&#x${code.toString(16)};`;
  if (ch === '&' || ch === '<') return NAMED[ch];
  if (style === 'cdata' && ch !== ']' && ch !== '>') return `<![CDATA[${ch}]]>`;
  return ch;
}

const styleArb = fc.constantFrom<Style>('raw', 'raw', 'named', 'dec', 'hex', 'cdata');
const charArb = fc.oneof(
  fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', '\r', '\u0001', '\u001f', ' ', '%', '+', '/', 'é', '日', '😀', '\uFFFD', ']'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);
/** A text and how it is written. */
const textArb = fc.array(fc.tuple(charArb, styleArb), { maxLength: 12 }).map((parts) => ({
  value: parts.map(([c]) => c).join(''),
  xml: parts.map(([c, s]) => writeChar(c, s)).join(''),
}));
/** XML readers (the SDK's among them) read white space with a line feed, alone, as nothing: see the scanner's doc. */
const keyTextArb = textArb.filter((t) => !(t.value.trim() === '' && t.value.includes('\n')));

/** S3's EncodingType=url: keys percent-encoded, spaces as `+`. */
const urlEncode = (key: string) => encodeURIComponent(key).replace(/%20/g, '+');

interface GenEntry {
  marker: boolean;
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: Date;
  size: number;
}

const versionIdArb = fc.oneof(fc.constant('null'), fc.string({ unit: fc.constantFrom(...'abcXYZ019._-&<'), minLength: 1, maxLength: 32 }));
const dateArb = fc.date({ min: new Date('2006-03-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
const entryArb = fc.record({
  marker: fc.boolean(),
  key: keyTextArb,
  versionId: versionIdArb,
  isLatest: fc.boolean(),
  lastModified: dateArb,
  size: fc.nat({ max: 5 * 2 ** 40 }),
  ws: fc.constantFrom('', '\n  ', '\n', '\r\n', '\r'),
});
const pageArb = fc.record({
  url: fc.boolean(),
  entries: fc.array(entryArb, { maxLength: 25 }),
  truncated: fc.boolean(),
  nextKey: keyTextArb,
  nextVersion: versionIdArb,
  declaration: fc.boolean(),
  comment: fc.boolean(),
});

type PageSpec = typeof pageArb extends fc.Arbitrary<infer T> ? T : never;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Writes a ListVersionsResult the way S3 does, with the unused elements S3 adds around the fields. */
function writePage(spec: PageSpec): { xml: string; entries: GenEntry[]; nextKey: string } {
  const keyXml = (t: { value: string; xml: string }) => (spec.url ? esc(urlEncode(t.value)) : t.xml);
  const entries: GenEntry[] = spec.entries.map((e) => ({
    marker: e.marker,
    key: spec.url ? urlEncode(e.key.value) : e.key.value,
    versionId: e.versionId,
    isLatest: e.isLatest,
    lastModified: e.lastModified,
    size: e.marker ? 0 : e.size,
  }));
  const body = spec.entries.map((e) => {
    const tag = e.marker ? 'DeleteMarker' : 'Version';
    const fields = [
      `<Key>${keyXml(e.key)}</Key>`,
      `<VersionId>${esc(e.versionId)}</VersionId>`,
      `<IsLatest>${e.isLatest}</IsLatest>`,
      `<LastModified>${e.lastModified.toISOString()}</LastModified>`,
      ...(e.marker ? [] : [`<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>`, `<Size>${e.size}</Size>`, '<StorageClass>STANDARD</StorageClass>']),
      '<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>me&amp;you</DisplayName></Owner>',
    ];
    return `<${tag}>${e.ws}${fields.join(e.ws)}${e.ws}</${tag}>`;
  });
  const next = spec.truncated ? [`<NextKeyMarker>${keyXml(spec.nextKey)}</NextKeyMarker>`, `<NextVersionIdMarker>${esc(spec.nextVersion)}</NextVersionIdMarker>`] : [];
  const xml = [
    spec.declaration ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '',
    '<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    spec.comment ? '<!-- a comment <Key>not a key</Key> -->' : '',
    '<Name>bucket</Name><Prefix></Prefix><KeyMarker/><VersionIdMarker/>',
    ...next,
    '<MaxKeys>1000</MaxKeys>',
    spec.url ? '<EncodingType>url</EncodingType>' : '',
    `<IsTruncated>${spec.truncated}</IsTruncated>`,
    ...body,
    '<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>',
    '</ListVersionsResult>',
  ].join('');
  return { xml, entries, nextKey: spec.url ? urlEncode(spec.nextKey.value) : spec.nextKey.value };
}

const fields = (e: { key: string; versionId: string; isLatest: boolean; lastModified: Date; size: number }) =>
  ({ key: e.key, versionId: e.versionId, isLatest: e.isLatest, lastModified: e.lastModified.getTime(), size: e.size });

describe('scanListVersions', () => {
  it('reads every field the engine uses exactly as the SDK parser does, on random pages', async () => {
    await fc.assert(
      fc.asyncProperty(pageArb, async (spec) => {
        // GIVEN a random page: entities, character references, CDATA, unicode, control characters, url-encoded keys,
        // delete markers, "null" versions, truncated or final
        const { xml, entries } = writePage(spec);
        // WHEN the SDK and the scanner read it
        const sdk = await sdkReading(xml);
        const lean = scanListVersions(xml)!;
        // THEN they agree on each field, versions and delete markers alike
        const sdkVersions = (sdk.Versions ?? []).map((v) => fields({ key: v.Key!, versionId: v.VersionId!, isLatest: v.IsLatest!, lastModified: v.LastModified!, size: v.Size! }));
        const sdkMarkers = (sdk.DeleteMarkers ?? []).map((m) => fields({ key: m.Key!, versionId: m.VersionId!, isLatest: m.IsLatest!, lastModified: m.LastModified!, size: 0 }));
        expect(lean.entries.filter((e) => !e.isDeleteMarker).map(fields)).toEqual(sdkVersions);
        expect(lean.entries.filter((e) => e.isDeleteMarker).map(fields)).toEqual(sdkMarkers);
        expect(lean.isTruncated).toBe(sdk.IsTruncated === true);
        expect(lean.nextKeyMarker).toBe(sdk.NextKeyMarker);
        expect(lean.nextVersionIdMarker).toBe(sdk.NextVersionIdMarker);
        expect(lean.encodingType).toBe(sdk.EncodingType);
        // AND the scanner keeps the document's order, which the SDK's two arrays lose, and what was written
        expect(lean.entries.map((e) => ({ ...fields(e), marker: e.isDeleteMarker }))).toEqual(entries.map((e) => ({ ...fields(e), marker: e.marker })));
      }),
      { numRuns: 300 },
    );
  });

  it('gives listVersionPage the same page and cursor as the SDK reading, keys url-decoded', async () => {
    await fc.assert(
      fc.asyncProperty(pageArb, async (spec) => {
        // GIVEN a random page, answered by a client that runs the SDK's middleware
        const { xml } = writePage(spec);
        const sdk = await sdkReading(xml);
        // WHEN the engine lists it
        const page = await listVersionPage(answering(200, xml), 'b', { prefix: '' }, {});
        // THEN its entries are the SDK's, decoded and merged in the same order
        const withKind = (e: { isDeleteMarker: boolean } & Parameters<typeof fields>[0]) => ({ ...fields(e), marker: e.isDeleteMarker });
        expect(page.entries.map(withKind)).toEqual(mergePageEntries(sdk).map(withKind));
        // AND the next cursor is the SDK's NextKeyMarker (decoded when url-encoded) and NextVersionIdMarker
        if (sdk.IsTruncated && sdk.NextKeyMarker !== undefined) {
          const nextKey = sdk.EncodingType === 'url' ? decodeURIComponent(sdk.NextKeyMarker.replace(/\+/g, ' ')) : sdk.NextKeyMarker;
          expect(page.next).toEqual({ keyMarker: nextKey, versionIdMarker: sdk.NextVersionIdMarker });
        } else if (!sdk.IsTruncated) {
          expect(page.next).toBeNull();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('reads a page cut into random pieces, as the socket delivers it, exactly as it reads it whole', () => {
    fc.assert(
      fc.property(pageArb, fc.array(fc.nat(), { maxLength: 12 }), (spec, cuts) => {
        // GIVEN a random page and random places to cut it (inside tags, entities, CDATA, CR LF pairs)
        const { xml } = writePage(spec);
        const at = [...new Set(cuts.map((c) => c % (xml.length + 1)))].sort((a, b) => a - b);
        // WHEN it is pushed piece by piece
        const scan = new ListVersionsScan();
        let from = 0;
        for (const cut of at) {
          scan.push(xml.slice(from, cut), false);
          from = cut;
        }
        scan.push(xml.slice(from), true);
        // THEN the result is the whole document's
        expect(scan.result()).toEqual(scanListVersions(xml));
      }),
      { numRuns: 300 },
    );
  });

  it('reads an astral character reference and a white-space key whole, where the SDK parser does not', () => {
    // GIVEN a page whose keys are written as &#x1F600; and as a space and a line feed
    const xml = '<ListVersionsResult><IsTruncated>false</IsTruncated>'
      + '<Version><Key>&#x1F600;</Key><VersionId>a</VersionId></Version>'
      + '<Version><Key> \n</Key><VersionId>b</VersionId></Version></ListVersionsResult>';
    // WHEN the scanner reads it
    const page = scanListVersions(xml)!;
    // THEN the keys are the characters XML says they are
    expect(page.entries.map((e) => e.key)).toEqual(['😀', ' \n']);
  });

  it('reads LastModified as the SDK maps it: the date given, and the epoch when there is none', async () => {
    // GIVEN a version with a LastModified and a delete marker without one
    const xml = '<ListVersionsResult><IsTruncated>false</IsTruncated>'
      + '<Version><Key>a</Key><VersionId>1</VersionId><LastModified>2026-12-06T14:24:00.123Z</LastModified></Version>'
      + '<DeleteMarker><Key>b</Key><VersionId>2</VersionId></DeleteMarker></ListVersionsResult>';
    // WHEN the scanner and the SDK read it
    const page = scanListVersions(xml)!;
    const sdk = await sdkReading(xml);
    // THEN each entry's date is the SDK's, read as often as asked
    expect(page.entries.map((e) => e.lastModified.getTime())).toEqual([Date.parse('2026-12-06T14:24:00.123Z'), 0]);
    expect(page.entries[0].lastModified.getTime()).toBe(sdk.Versions![0].LastModified!.getTime());
    expect(page.entries[1].lastModified.getTime()).toBe((sdk.DeleteMarkers![0].LastModified ?? new Date(0)).getTime());
  });

  it('keeps LastModified exact before 1970, at minute boundaries, and invalid when the text is not a date', () => {
    // GIVEN dates the scanner stores as minutes and the milliseconds after them, and a text that is no date
    const dates = ['1969-12-31T23:59:59.999Z', '2026-12-06T14:24:00.000Z', '2026-12-06T14:24:59.999Z', '2099-12-31T23:59:59.999Z'];
    const xml = '<ListVersionsResult><IsTruncated>false</IsTruncated>'
      + dates.map((d, i) => `<Version><Key>k${i}</Key><VersionId>${i}</VersionId><LastModified>${d}</LastModified></Version>`).join('')
      + '<Version><Key>x</Key><VersionId>x</VersionId><LastModified>yesterday</LastModified></Version></ListVersionsResult>';
    // WHEN the scanner reads them
    const page = scanListVersions(xml)!;
    // THEN each date is the one given, to the millisecond, and the last is as invalid as new Date('yesterday')
    expect(page.entries.slice(0, 4).map((e) => e.lastModified.toISOString())).toEqual(dates);
    expect(Number.isNaN(page.entries[4].lastModified.getTime())).toBe(true);
  });

  it('leaves a document that is not a ListVersionsResult to the SDK', () => {
    // GIVEN an S3 error document WHEN scanned THEN the scanner declines it
    expect(scanListVersions('<?xml version="1.0"?><Error><Code>SlowDown</Code></Error>')).toBeUndefined();
  });

  it('throws on XML that is not well formed rather than read a short page', () => {
    // GIVEN pages cut short or with mismatched tags
    const cut = '<ListVersionsResult><IsTruncated>true</IsTruncated><Version><Key>a</Key>';
    const mismatched = '<ListVersionsResult><Version><Key>a</VersionId></Version></ListVersionsResult>';
    // WHEN scanned THEN each throws
    expect(() => scanListVersions(cut)).toThrow();
    expect(() => scanListVersions(mismatched)).toThrow();
  });
});

describe('readLeanly', () => {
  it('lets the SDK turn an error answer into its exception', async () => {
    // GIVEN a store answering 503 SlowDown
    const client = answering(503, '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>');
    // WHEN a page is listed THEN the SDK's SlowDown error arrives, and nothing was read leanly
    const command = new ListObjectVersionsCommand({ Bucket: 'b' });
    const slot = readLeanly(command);
    await expect(client.send(command)).rejects.toMatchObject({ name: 'SlowDown' });
    expect(slot.page).toBeUndefined();
  });

  it('hands a 200 the scanner cannot read to the SDK, which fails the call instead of returning an empty page', async () => {
    // GIVEN a 200 whose body is cut short
    const client = answering(200, '<ListVersionsResult><IsTruncated>true</IsTruncated><Version><Key>a</Key>');
    // WHEN the engine lists it THEN the call fails
    await expect(listVersionPage(client, 'b', { prefix: '' }, {})).rejects.toThrow();
  });

  it('leaves the SDK only metadata to build when the scanner read the page', async () => {
    // GIVEN a page of one version
    const client = answering(200, '<ListVersionsResult><IsTruncated>false</IsTruncated><Version><Key>k</Key><VersionId>v</VersionId></Version></ListVersionsResult>', { 'x-amz-request-id': 'r1' });
    const command = new ListObjectVersionsCommand({ Bucket: 'b' });
    const slot = readLeanly(command);
    // WHEN it is sent
    const output = await client.send(command);
    // THEN the slot holds the entry and the SDK's output no versions, but its metadata
    expect(slot.page?.entries.map((e) => `${e.key}@${e.versionId}`)).toEqual(['k@v']);
    expect(output.Versions).toBeUndefined();
    expect(output.$metadata.requestId).toBe('r1');
  });
});
