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

const ENTRY_FIELDS = new Set<string>(['Key', 'VersionId', 'IsLatest', 'LastModified', 'Size']);
const PAGE_FIELDS = new Set<string>(['IsTruncated', 'NextKeyMarker', 'NextVersionIdMarker', 'EncodingType']);
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
  const doc = xml.indexOf('\r') >= 0 ? xml.replace(/\r\n?/g, '\n') : xml;
  return new Scan(doc).scanDocument();
}

interface MutableEntry {
  key: string;
  versionId: string;
  isDeleteMarker: boolean;
  isLatest: boolean;
  lastModified: Date;
  size: number;
}

class Scan {
  private i = 0;
  private readonly open: string[] = [];
  private entry: MutableEntry | undefined;
  private field: Field | undefined;
  private text = '';
  private readonly entries: VersionEntry[] = [];
  private isTruncated = false;
  private nextKeyMarker: string | undefined;
  private nextVersionIdMarker: string | undefined;
  private encodingType: string | undefined;

  constructor(private readonly x: string) {}

  scanDocument(): ScannedPage | undefined {
    const x = this.x;
    while (this.i < x.length) {
      const lt = x.indexOf('<', this.i);
      if (lt < 0) {
        this.textUntil(x.length);
        break;
      }
      this.textUntil(lt);
      const next = x.charCodeAt(lt + 1);
      if (next === 0x2f /* / */) this.endTag(lt);
      else if (next === 0x21 /* ! */) this.markup(lt);
      else if (next === 0x3f /* ? */) this.i = this.indexAfter('?>', lt + 2);
      else if (!this.startTag(lt)) return undefined;
    }
    if (this.open.length > 0) throw new Error(`XML ends inside <${this.open[this.open.length - 1]}>`);
    return {
      entries: this.entries,
      isTruncated: this.isTruncated,
      nextKeyMarker: this.nextKeyMarker,
      nextVersionIdMarker: this.nextVersionIdMarker,
      encodingType: this.encodingType,
    };
  }

  /** Position just after the next `stop` at or after `from`. */
  private indexAfter(stop: string, from: number): number {
    const at = this.x.indexOf(stop, from);
    if (at < 0) throw new Error(`XML: "${stop}" expected`);
    return at + stop.length;
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

  /** Comments, CDATA sections and a DOCTYPE. */
  private markup(lt: number): void {
    const x = this.x;
    if (x.startsWith('<!--', lt)) {
      this.i = this.indexAfter('-->', lt + 4);
    } else if (x.startsWith('<![CDATA[', lt)) {
      const end = this.indexAfter(']]>', lt + 9);
      if (this.field !== undefined) this.text += x.slice(lt + 9, end - 3);
      this.i = end;
    } else if (x.slice(lt, lt + 9).toUpperCase() === '<!DOCTYPE' && this.open.length === 0) {
      this.i = doctypeEnd(x, lt + 9);
    } else {
      throw new Error('XML: unexpected markup');
    }
  }

  /** Returns false when the root element is not a ListVersionsResult. */
  private startTag(lt: number): boolean {
    const x = this.x;
    let end = lt + 1;
    while (end < x.length && !isNameEnd(x.charCodeAt(end))) end++;
    const name = x.slice(lt + 1, end);
    const gt = tagEnd(x, end);
    const selfClosing = x.charCodeAt(gt - 1) === 0x2f;
    this.i = gt + 1;
    const depth = this.open.length;
    if (depth === 0 && name !== 'ListVersionsResult') return false;
    if (this.field !== undefined) throw new Error(`XML: <${name}> inside <${this.field}>`);
    if (depth === 1 && (name === 'Version' || name === 'DeleteMarker')) {
      this.entry = { key: '', versionId: 'null', isDeleteMarker: name === 'DeleteMarker', isLatest: false, lastModified: new Date(0), size: 0 };
    }
    const wanted = (depth === 1 && PAGE_FIELDS.has(name)) || (depth === 2 && this.entry !== undefined && ENTRY_FIELDS.has(name));
    if (selfClosing) {
      if (wanted) this.storeField(name as Field, '');
      if (depth === 1 && this.entry) this.closeEntry();
      return true;
    }
    this.open.push(name);
    if (wanted) {
      this.field = name as Field;
      this.text = '';
    }
    return true;
  }

  private endTag(lt: number): void {
    const gt = this.indexAfter('>', lt + 2);
    const name = this.x.slice(lt + 2, gt - 1).trim();
    const expected = this.open.pop();
    if (name !== expected) throw new Error(`XML: </${name}> closes <${expected}>`);
    this.i = gt;
    if (this.field !== undefined) {
      this.storeField(this.field, this.text);
      this.field = undefined;
    } else if (this.open.length === 1 && this.entry) {
      this.closeEntry();
    }
  }

  private closeEntry(): void {
    this.entries.push(this.entry!);
    this.entry = undefined;
  }

  private storeField(field: Field, value: string): void {
    const e = this.entry;
    switch (field) {
      case 'Key': e!.key = value; break;
      case 'VersionId': e!.versionId = value; break;
      case 'IsLatest': e!.isLatest = value === 'true'; break;
      case 'LastModified': e!.lastModified = new Date(value); break;
      case 'Size': e!.size = e!.isDeleteMarker ? 0 : Number(value); break;
      case 'IsTruncated': this.isTruncated = value === 'true'; break;
      case 'NextKeyMarker': this.nextKeyMarker = value; break;
      case 'NextVersionIdMarker': this.nextVersionIdMarker = value; break;
      case 'EncodingType': this.encodingType = value; break;
    }
  }
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
      if (close < 0) break;
      i = close;
    }
  }
  throw new Error('XML: unterminated start tag');
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
  throw new Error('XML: unclosed DOCTYPE');
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
