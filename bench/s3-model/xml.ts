/**
 * The small XML subset S3 request bodies use: elements, text, entities, CDATA,
 * comments and a prolog. Attributes and namespace prefixes are ignored.
 */

export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

export class XmlSyntaxError extends Error {}

// XML 1.0 Char production; S3 rejects request bodies outside it with MalformedXML.
const INVALID_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function isValidXmlCodePoint(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(raw: string): string {
  if (INVALID_XML_CHAR.test(raw)) throw new XmlSyntaxError('invalid character in text');
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body[0] !== '#') {
      const named = NAMED_ENTITIES[body];
      if (named === undefined) throw new XmlSyntaxError(`unknown entity ${whole}`);
      return named;
    }
    const cp = body[1] === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    if (!isValidXmlCodePoint(cp)) throw new XmlSyntaxError(`character reference ${whole} is not allowed`);
    return String.fromCodePoint(cp);
  });
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

/** Parses a document and returns its root element; throws XmlSyntaxError when it is not well formed. */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  const appendText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
    else if (text.trim() !== '') throw new XmlSyntaxError('text outside the root element');
  };

  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    if (lt < 0) {
      appendText(decodeEntities(source.slice(pos)));
      break;
    }
    if (lt > pos) appendText(decodeEntities(source.slice(pos, lt)));

    if (source.startsWith('<?', lt)) {
      pos = endOf(source, '?>', lt);
    } else if (source.startsWith('<!--', lt)) {
      pos = endOf(source, '-->', lt);
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = endOf(source, ']]>', lt);
      const data = source.slice(lt + 9, end - 3);
      if (INVALID_XML_CHAR.test(data)) throw new XmlSyntaxError('invalid character in CDATA');
      appendText(data);
      pos = end;
    } else if (source.startsWith('<!', lt)) {
      pos = endOf(source, '>', lt);
    } else if (source.startsWith('</', lt)) {
      const end = endOf(source, '>', lt);
      const name = localName(source.slice(lt + 2, end - 1).trim());
      const open = stack.pop();
      if (!open || open.name !== name) throw new XmlSyntaxError(`unexpected closing tag </${name}>`);
      pos = end;
    } else {
      const end = endOf(source, '>', lt);
      const selfClosing = source[end - 2] === '/';
      const inner = source.slice(lt + 1, selfClosing ? end - 2 : end - 1);
      const match = /^\s*([^\s/>]+)/.exec(inner);
      if (!match) throw new XmlSyntaxError('element without a name');
      const element: XmlElement = { name: localName(match[1]), children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) throw new XmlSyntaxError('more than one root element');
      else root = element;
      if (!selfClosing) stack.push(element);
      pos = end;
    }
  }
  if (!root || stack.length > 0) throw new XmlSyntaxError('unterminated document');
  return root;
}

function endOf(source: string, terminator: string, from: number): number {
  const at = source.indexOf(terminator, from);
  if (at < 0) throw new XmlSyntaxError(`missing ${terminator}`);
  return at + terminator.length;
}

export function childElements(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((c) => c.name === name);
}

export function childText(parent: XmlElement, name: string): string | undefined {
  return parent.children.find((c) => c.name === name)?.text;
}

/** Escapes text for element content; control characters become character references as S3 writes them. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

/** `<name>escaped value</name>`, or nothing when the value is undefined. */
export function element(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
