/**
 * The flat XML messages of WeChat's platforms (`<xml><Name>value</Name>...</xml>`, values often in
 * CDATA), read with fast-xml-parser: never regular expressions over untrusted XML. A DOCTYPE (the
 * door to entity expansion) is refused before parsing, entities are left unexpanded, nesting is
 * capped, the document must be well-formed, and the input's size is bounded by the caller's limit. The answer is the root's children
 * that are plain text; anything else (nested elements, repeated names) is left out, so a reader of a
 * field gets a string or nothing.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export class XmlRejected extends Error {
  constructor(reason: string) {
    super(`XML refused: ${reason}`);
    this.name = 'XmlRejected';
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  maxNestedTags: 4,
});

/** The text fields of the root element `xml` (at most maxBytes of UTF-8 input). */
export function readXmlMessage(text: string, maxBytes: number): Record<string, string> {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new XmlRejected('too large');
  const upper = text.toUpperCase();
  if (upper.includes('<!DOCTYPE') || upper.includes('<!ENTITY')) throw new XmlRejected('DOCTYPE');
  // The parser itself forgives unclosed tags; the validator (same package) does not.
  if (XMLValidator.validate(text) !== true) throw new XmlRejected('not well-formed');
  let doc: unknown;
  try {
    doc = parser.parse(text) as unknown;
  } catch {
    throw new XmlRejected('not well-formed');
  }
  const root = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>).xml : undefined;
  if (root === null || typeof root !== 'object' || Array.isArray(root))
    throw new XmlRejected('no <xml> root');
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(root as Record<string, unknown>)) {
    if (typeof value === 'string') fields[name] = value;
  }
  return fields;
}
