/** Why a message could not be read: a stable code, and a message naming what is wrong. */
export type Hl7ErrorCode =
  | 'EMPTY' // nothing but white space
  | 'NOT_HL7' // does not start with an MSH segment
  | 'BAD_DELIMITERS' // MSH-1 / MSH-2 do not declare usable delimiters
  | 'BAD_SEGMENT' // a line that is not a segment (no 3-character segment id)
  | 'INCOMPLETE_HEADER' // MSH ends before MSH-9 / MSH-10 / MSH-12 (truncated, or not filled in)
  | 'UNSUPPORTED_CHARSET' // MSH-18 names a character set the codec does not handle
  | 'BAD_ENCODING' // bytes that are not valid in the character set MSH-18 declares (Hl7EncodingError)
  | 'BAD_PATH' // an accessor path such as PID-3[2].4.2 that does not parse
  | 'UNENCODABLE' // a character the message's character set cannot carry
  | 'NO_MSA'; // an ACK without MSA

export class Hl7ParseError extends Error {
  readonly code: Hl7ErrorCode;
  constructor(code: Hl7ErrorCode, message: string) {
    super(message);
    this.name = 'Hl7ParseError';
    this.code = code;
  }
}

/**
 * Bytes that are not valid in the character set MSH-18 declares: a BAD_ENCODING error saying which
 * byte, where. The message is refused rather than read with replacement characters (U+FFFD).
 */
export class Hl7EncodingError extends Hl7ParseError {
  constructor(
    message: string,
    /** MSH-18 as declared (e.g. 'UNICODE UTF-8'). */
    readonly charset: string,
    /** Offset of the first bad byte in the bytes given (0-based; a byte order mark counts). */
    readonly offset: number,
    /** That byte's value. */
    readonly byte: number,
    /** Where it lies, as an ERR-2 location (segment^occurrence^field, e.g. 'PID^1^5'); '' when unknown. */
    readonly location: string,
  ) {
    super('BAD_ENCODING', message);
    this.name = 'Hl7EncodingError';
  }
}
