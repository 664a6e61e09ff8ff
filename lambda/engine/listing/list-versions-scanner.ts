import type { VersionEntry } from '../types';

/** The fields of one ListObjectVersions answer that the engine uses, entries in document order. */
export interface ScannedPage {
  /** Versions and delete markers as the XML lists them (S3's true order); keys not yet URL-decoded. */
  readonly entries: VersionEntry[];
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  readonly nextVersionIdMarker?: string;
  readonly encodingType?: string;
}

/** A ListVersionsResult field being read, and what it is. */
type Field = 'Key' | 'VersionId' | 'IsLatest' | 'LastModified' | 'Size' | 'IsTruncated' | 'NextKeyMarker' | 'NextVersionIdMarker' | 'EncodingType';

const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|([a-zA-Z][a-zA-Z0-9]{0,30}));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Reads a ListVersionsResult document in one pass of indexOf calls, keeping
 * only the fields the engine uses: the SDK's parser builds every tag and text
 * one character at a time and then maps the whole tree onto its types, which
 * was 55 % of the engine's CPU (bench/README.md).
 *
 * It follows XML 1.0 and the SDK's reading of it: line ends normalised to
 * LF, the five predefined entities and character references decoded, CDATA
 * kept as is, comments and processing instructions skipped. Two deliberate
 * differences, both where the SDK is wrong: a character reference above
 * U+FFFF is decoded whole (the SDK keeps its low 16 bits), and a text made of
 * white space and a line feed stays as it is (the SDK reads it as empty).
 * Neither can occur in a url-encoded key, which is what the engine asks for.
 *
 * Returns undefined when the document is not a ListVersionsResult (an Error
 * document, say): the caller then leaves it to the SDK. Throws on XML that
 * is not well formed.
 */
export function scanListVersions(xml: string): ScannedPage | undefined {
  const scan = new ListVersionsScan();
  scan.push(xml, true);
  return scan.result();
}

/** Entry flags, in one small integer field. */
const LATEST = 1;
const DELETE_MARKER = 2;
const MINUTE_MS = 60_000;

/**
 * An entry as the scanner reads it, in as few bytes as V8 allows: at 16
 * prefixes about 55,000 entries are in flight, every one of them promoted to
 * the old generation, and V8 grows that generation to four times what
 * survives a full collection (bench/README.md, issue 12's memory).
 *
 * - LastModified is made a `Date` only when read (a purge never reads it; a
 *   `Date` is 96 bytes). It is kept as whole minutes since the epoch and the
 *   milliseconds after them: both small integers, which V8 stores in the
 *   object itself, where epoch milliseconds, a double, would be a 16-byte box
 *   of their own. 0 when the entry has no LastModified, as the SDK's mapping
 *   gives; an invalid date when the text is not one, as `new Date(text)` gives.
 * - The two flags share one field.
 */
class ScannedEntry implements VersionEntry {
  key = '';
  versionId = 'null';
  size = 0;
  private flags: number;
  private minutes = 0;
  /** Milliseconds after {@link minutes}; -1: the text was not a date. */
  private rest = 0;

  constructor(isDeleteMarker: boolean) {
    this.flags = isDeleteMarker ? DELETE_MARKER : 0;
  }

  get isDeleteMarker(): boolean {
    return (this.flags & DELETE_MARKER) !== 0;
  }

  get isLatest(): boolean {
    return (this.flags & LATEST) !== 0;
  }

  set isLatest(latest: boolean) {
    this.flags = latest ? this.flags | LATEST : this.flags & ~LATEST;
  }

  get lastModified(): Date {
    return new Date(this.rest < 0 ? Number.NaN : this.minutes * MINUTE_MS + this.rest);
  }

  /** Sets LastModified from S3's text (an ISO 8601 timestamp). */
  setLastModified(text: string): void {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) {
      this.minutes = 0;
      this.rest = -1;
      return;
    }
    this.minutes = Math.floor(ms / MINUTE_MS);
    // `| 0` (exact: 0 to 59,999) keeps it a small integer; the bare difference is a double to V8, boxed.
    this.rest = (ms - this.minutes * MINUTE_MS) | 0;
  }
}

/** A construct that ends beyond the text seen so far. */
const MORE = -1;

/**
 * {@link scanListVersions} fed piece by piece, as the body arrives: reading
 * each socket chunk as it comes means no string of the whole page (about
 * 400 KB) is ever made. Such strings go straight to V8's large-object space,
 * which only a full collection frees: at 100 pages a second they kept the
 * heap above 300 MB. An unfinished construct waits for the next piece.
 */
export class ListVersionsScan {
  private x = '';
  private i = 0;
  private heldCr = false;
  private declined = false;
  private readonly open: string[] = [];
  private entry: ScannedEntry | undefined;
  /** The raw text of the last Key read and its copy: a key's versions come one after another, and share one string. */
  private lastKeyText = '';
  private lastKey = '';
  private field: Field | undefined;
  private text = '';
  private readonly entries: VersionEntry[] = [];
  private isTruncated = false;
  private nextKeyMarker: string | undefined;
  private nextVersionIdMarker: string | undefined;
  private encodingType: string | undefined;

  /** Reads `piece`; `final` when it is the last one. Throws on XML that is not well formed. */
  push(piece: string, final: boolean): void {
    if (this.declined) return;
    const text = this.normalised(piece, final);
    this.x = this.i < this.x.length ? this.x.slice(this.i) + text : text;
    this.i = 0;
    while (this.i < this.x.length && !this.declined) {
      if (!this.step(final)) return;
    }
  }

  /** The page, or undefined when the document is not a ListVersionsResult. Call after the final push. */
  result(): ScannedPage | undefined {
    if (this.declined) return undefined;
    if (this.open.length > 0 || this.i < this.x.length) throw new Error('XML: the document ends inside an element');
    return {
      entries: this.entries,
      isTruncated: this.isTruncated,
      nextKeyMarker: this.nextKeyMarker,
      nextVersionIdMarker: this.nextVersionIdMarker,
      encodingType: this.encodingType,
    };
  }

  /** XML's line-end normalisation (CR LF and CR to LF), a CR at a piece's end held for the next. */
  private normalised(piece: string, final: boolean): string {
    let text = this.heldCr ? `\r${piece}` : piece;
    this.heldCr = !final && text.endsWith('\r');
    if (this.heldCr) text = text.slice(0, -1);
    return text.indexOf('\r') >= 0 ? text.replace(/\r\n?/g, '\n') : text;
  }

  /** Reads the text up to the next construct, and the construct; false when that needs more input. */
  private step(final: boolean): boolean {
    const x = this.x;
    const lt = x.indexOf('<', this.i);
    if (lt < 0) {
      if (!final) return false;
      this.textUntil(x.length);
      return true;
    }
    this.textUntil(lt);
    const next = lt + 1 < x.length ? x.charCodeAt(lt + 1) : MORE;
    let end: number;
    if (next === MORE) end = MORE;
    else if (next === 0x2f /* / */) end = this.endTag(lt);
    else if (next === 0x21 /* ! */) end = this.markup(lt, final);
    else if (next === 0x3f /* ? */) end = indexAfter(x, '?>', lt + 2);
    else end = this.startTag(lt);
    if (end === MORE) {
      if (final) throw new Error('XML: the document ends inside a tag');
      return false;
    }
    this.i = end;
    return true;
  }

  private textUntil(end: number): void {
    if (end <= this.i) return;
    if (this.field !== undefined) {
      const raw = this.x.slice(this.i, end);
      this.text += raw.indexOf('&') >= 0 ? decodeXmlText(raw) : raw;
    } else if (this.open.length === 0 && this.x.slice(this.i, end).trim() !== '') {
      throw new Error('XML: text outside the root element');
    }
    this.i = end;
  }

  /** Comments, CDATA sections and a DOCTYPE; returns where they end. */
  private markup(lt: number, final: boolean): number {
    const x = this.x;
    if (lt + 9 > x.length && !final) return MORE;
    if (x.startsWith('<!--', lt)) return indexAfter(x, '-->', lt + 4);
    if (x.startsWith('<![CDATA[', lt)) {
      const end = indexAfter(x, ']]>', lt + 9);
      if (end !== MORE && this.field !== undefined) this.text += x.slice(lt + 9, end - 3);
      return end;
    }
    if (x.slice(lt, lt + 9).toUpperCase() === '<!DOCTYPE' && this.open.length === 0) return doctypeEnd(x, lt + 9);
    throw new Error('XML: unexpected markup');
  }

  /** Returns where the tag ends; declines a document whose root is not a ListVersionsResult. */
  private startTag(lt: number): number {
    const x = this.x;
    let end = lt + 1;
    while (end < x.length && !isNameEnd(x.charCodeAt(end))) end++;
    const gt = end < x.length ? tagEnd(x, end) : MORE;
    if (gt === MORE) return MORE;
    const name = tagName(x, lt + 1, end);
    const selfClosing = x.charCodeAt(gt - 1) === 0x2f;
    const depth = this.open.length;
    if (depth === 0 && name !== 'ListVersionsResult') {
      this.declined = true;
      return gt + 1;
    }
    if (this.field !== undefined) throw new Error(`XML: <${name}> inside <${this.field}>`);
    if (depth === 1 && (name === 'Version' || name === 'DeleteMarker')) {
      this.entry = new ScannedEntry(name === 'DeleteMarker');
    }
    const wanted = (depth === 1 && isPageField(name)) || (depth === 2 && this.entry !== undefined && isEntryField(name));
    if (selfClosing) {
      if (wanted) this.storeField(name as Field, '');
      if (depth === 1 && this.entry) this.closeEntry();
      return gt + 1;
    }
    this.open.push(name);
    if (wanted) {
      this.field = name as Field;
      this.text = '';
    }
    return gt + 1;
  }

  private endTag(lt: number): number {
    const x = this.x;
    const expected = this.open[this.open.length - 1];
    // Compare in place: no string is cut out for the names of the many closing tags.
    const after = lt + 2 + (expected?.length ?? 0);
    if (after >= x.length) return MORE;
    if (expected === undefined || !x.startsWith(expected, lt + 2) || !isCloseEnd(x.charCodeAt(after))) {
      throw new Error(`XML: a closing tag does not close <${expected}>`);
    }
    const end = indexAfter(x, '>', after);
    if (end === MORE) return MORE;
    this.open.pop();
    if (this.field !== undefined) {
      this.storeField(this.field, this.text);
      this.field = undefined;
    } else if (this.open.length === 1 && this.entry) {
      this.closeEntry();
    }
    return end;
  }

  private closeEntry(): void {
    this.entries.push(this.entry!);
    this.entry = undefined;
  }

  private storeField(field: Field, text: string): void {
    const e = this.entry;
    if (field === 'Key') {
      if (text !== this.lastKeyText) {
        this.lastKeyText = text;
        this.lastKey = ownCopy(text);
      }
      e!.key = this.lastKey;
      return;
    }
    const value = ownCopy(text);
    switch (field) {
      case 'VersionId': e!.versionId = value; break;
      case 'IsLatest': e!.isLatest = value === 'true'; break;
      case 'LastModified': e!.setLastModified(value); break;
      case 'Size': e!.size = e!.isDeleteMarker ? 0 : Number(value); break;
      case 'IsTruncated': this.isTruncated = value === 'true'; break;
      case 'NextKeyMarker': this.nextKeyMarker = value; break;
      case 'NextVersionIdMarker': this.nextVersionIdMarker = value; break;
      case 'EncodingType': this.encodingType = value; break;
    }
  }
}

/**
 * A copy of `value` that does not point into the document. V8 cuts a
 * substring of 13 characters or more as a view of its parent, so one key
 * still in flight would keep its whole page (about 400 KB) alive: at 16
 * prefixes the heap grew to 390 MB.
 *
 * Text without `%` (every version id, and most url-encoded keys) goes through
 * decodeURIComponent, which writes a flat string of its own: 56 bytes for a
 * 33-character version id. Concatenating and slicing again (the way for text
 * with `%`, which decodeURIComponent would change) leaves a 32-byte view in
 * front of that copy, and every entry in flight holds two such values.
 */
function ownCopy(value: string): string {
  if (value.length < 13) return value;
  return value.indexOf('%') < 0 ? decodeURIComponent(value) : (' ' + value).slice(1);
}

/**
 * The names of a ListVersionsResult's elements. An element's name is looked
 * up here instead of cut out of the document: about ten elements per entry,
 * so ten small strings of garbage per key.
 */
const KNOWN_NAMES: readonly string[] = [
  'ListVersionsResult', 'Version', 'DeleteMarker', 'Key', 'VersionId', 'IsLatest', 'LastModified', 'ETag', 'Size',
  'StorageClass', 'Owner', 'ID', 'DisplayName', 'ChecksumAlgorithm', 'ChecksumType', 'RestoreStatus', 'Name', 'Prefix',
  'KeyMarker', 'VersionIdMarker', 'NextKeyMarker', 'NextVersionIdMarker', 'MaxKeys', 'IsTruncated', 'EncodingType',
  'Delimiter', 'CommonPrefixes',
];
const NAMES_BY_LENGTH: ReadonlyMap<number, readonly string[]> = KNOWN_NAMES.reduce((byLength, name) => {
  byLength.set(name.length, [...(byLength.get(name.length) ?? []), name]);
  return byLength;
}, new Map<number, string[]>());

/** The element name `x[start..end)`: a known name's constant, else a new string. */
function tagName(x: string, start: number, end: number): string {
  for (const name of NAMES_BY_LENGTH.get(end - start) ?? []) {
    if (x.startsWith(name, start)) return name;
  }
  return x.slice(start, end);
}

function isEntryField(name: string): boolean {
  return name === 'Key' || name === 'VersionId' || name === 'IsLatest' || name === 'LastModified' || name === 'Size';
}

function isPageField(name: string): boolean {
  return name === 'IsTruncated' || name === 'NextKeyMarker' || name === 'NextVersionIdMarker' || name === 'EncodingType';
}

/** After a closing tag's name: `>` or white space. */
function isCloseEnd(c: number): boolean {
  return c === 0x3e || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Tag names end at white space, `/` or `>`. */
function isNameEnd(c: number): boolean {
  return c === 0x3e || c === 0x2f || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Index of the `>` closing a start tag, skipping quoted attribute values. */
function tagEnd(x: string, from: number): number {
  for (let i = from; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c === 0x3e) return i;
    if (c === 0x22 || c === 0x27) {
      const close = x.indexOf(c === 0x22 ? '"' : "'", i + 1);
      if (close < 0) return MORE;
      i = close;
    }
  }
  return MORE;
}

/** Position just after the next `stop` at or after `from`, or MORE. */
function indexAfter(x: string, stop: string, from: number): number {
  const at = x.indexOf(stop, from);
  return at < 0 ? MORE : at + stop.length;
}

/** Position after a DOCTYPE's closing `>`, skipping its internal subset in brackets. */
function doctypeEnd(x: string, from: number): number {
  let depth = 0;
  for (let i = from; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c === 0x5b) depth++;
    else if (c === 0x5d) depth--;
    else if (c === 0x3e && depth === 0) return i + 1;
  }
  return MORE;
}

/** A character reference; beyond Unicode's range it keeps the SDK's reading (its low 16 bits) rather than throw. */
function fromReference(code: number): string {
  return code <= 0x10ffff ? String.fromCodePoint(code) : String.fromCharCode(code);
}

/** Decodes the predefined entities and character references of XML text (unknown names decode to nothing, as in the SDK). */
export function decodeXmlText(raw: string): string {
  return raw.replace(ENTITY, (_m, hex: string | undefined, dec: string | undefined, named: string | undefined) => {
    if (hex) return fromReference(parseInt(hex, 16));
    if (dec) return fromReference(parseInt(dec, 10));
    return NAMED[named!] ?? '';
  });
}
