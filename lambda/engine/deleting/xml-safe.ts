/** Characters XML 1.0 cannot carry: C0 controls other than TAB, LF, CR; lone surrogates; U+FFFE/U+FFFF. */
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when a key can travel in a DeleteObjects XML body. Others make S3
 * reject the whole batch (MalformedXML; moto answers 500) and must be
 * deleted one at a time with DeleteObject, where the key is in the URL.
 */
export function isXmlSafeKey(key: string): boolean {
  return !XML_INVALID.test(key);
}
