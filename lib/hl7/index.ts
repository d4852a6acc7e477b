// HL7 v2 codec: ER7 parse and build, escape sequences, character sets, accessors, ACKs.
export { Hl7EncodingError, Hl7ParseError, type Hl7ErrorCode } from './errors';
export { DEFAULT_DELIMITERS, escapeValue, unescapeValue, type Delimiters } from './escape';
export {
  decodeHl7,
  encodeHl7,
  decodeMessageBytes,
  checkMessageBytes,
  byteLocation,
  encodeText,
  encodingOf,
  type Hl7Encoding,
  type DecodedMessage,
  type CheckedBytes,
} from './charset';
export { parsePath, type Hl7Path } from './path';
export {
  Hl7Message,
  Segment,
  parseHl7,
  readHeader,
  createMessage,
  newControlId,
  formatDateTime,
  type FieldValue,
  type Hl7Header,
  type ParseOptions,
  type CreateOptions,
} from './message';
export { buildAck, buildSafeAck, parseAck, listedErrors, HL7_ERROR_CODES, MAX_ACK_ERRORS, type AckCode, type AckError, type AckOptions, type ParsedAck } from './ack';
export { SEGMENT_NAMES, fieldName, type SegmentNames } from './fields';
export { layoutMessage, MAX_VALUE, type MessageLayout, type SegmentLayout, type FieldLayout } from './layout';
