import { encodeHl7 } from './charset';
import { DEFAULT_DELIMITERS, escapeValue, type Delimiters } from './escape';
import { Hl7ParseError } from './errors';
import { createMessage, formatDateTime, Hl7Message, parseHl7, type Hl7Header } from './message';

export type AckCode = 'AA' | 'AE' | 'AR';

/** HL7 table 0357, message error condition codes. */
export const HL7_ERROR_CODES: Readonly<Record<string, string>> = Object.freeze({
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '104': 'Value too long',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
});

export interface AckError {
  /** HL7 table 0357 code (e.g. '101' required field missing, '102' data type error, '207' internal error). */
  code: string;
  /** What is wrong, for a person (ERR-8, and ERR-3.2 is the table text). */
  text?: string;
  /** Error location as segment^occurrence^field^repetition^component^sub-component, e.g. 'PID^1^3^2'. */
  location?: string;
  /** ERR-4: E error (default), W warning, I information. */
  severity?: 'E' | 'W' | 'I';
  /** ERR-5 application error code (code^text^coding system), e.g. 902^Identifiant patient inconnu^applicationErrorCode. */
  application?: { code: string; text: string; system: string };
}

/**
 * The table ERR-3 is coded in: its name (ERR-3.3) and the texts of its codes (ERR-3.2). Default HL7
 * table 0357 as HL70357; the CI-SIS volets name it "messageErrorCondition" with their own texts.
 */
export interface ErrorTable {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface AckOptions {
  code: AckCode;
  /** MSA-3 text message (also the ERR-8 text of a single error without a text of its own). */
  text?: string;
  /** One ERR segment each, the first `maxErrors` of them; the rest are counted in one more ERR. */
  errors?: AckError[];
  /** How many errors are listed at most (default MAX_ACK_ERRORS, 20). */
  maxErrors?: number;
  /** MSH-10 of the ACK (default: a new control id). */
  controlId?: string;
  /** MSH-3/MSH-4 of the ACK (default: the original's receiving application / facility). */
  sendingApplication?: string;
  sendingFacility?: string;
  /** MSH-17 country code (e.g. FRA, as the CI-SIS volets ask). */
  countryCode?: string;
  /** The table of ERR-3 (default HL7 0357). */
  errorTable?: ErrorTable;
}

/**
 * At most this many ERR segments list errors in an acknowledgement; the others are counted in one more
 * ERR. An AE for a message with thousands of bad repetitions must not be larger than the message.
 */
export const MAX_ACK_ERRORS = 20;

/**
 * The errors an ACK lists: all of them when they are at most `max` + 1, else the first `max` and one
 * that counts the rest ("980 errors and 3 warnings more, not listed": code 207 when errors are left out,
 * else 199, with the gravest severity left out).
 */
export function listedErrors(errors: readonly AckError[], max = MAX_ACK_ERRORS): AckError[] {
  const keep = Math.max(0, Math.floor(max));
  if (errors.length <= keep + 1) return [...errors];
  const left = { E: 0, W: 0, I: 0 };
  for (let i = keep; i < errors.length; i++) left[errors[i].severity ?? 'E']++;
  const plural = (n: number, one: string, many: string) => `${n} ${n > 1 ? many : one}`;
  const what = [
    left.E ? plural(left.E, 'error', 'errors') : '',
    left.W ? plural(left.W, 'warning', 'warnings') : '',
    left.I ? plural(left.I, 'information message', 'information messages') : '',
  ]
    .filter(Boolean)
    .join(' and ');
  const severity = left.E ? 'E' : left.W ? 'W' : 'I';
  return [...errors.slice(0, keep), { code: left.E ? '207' : '199', text: `${what} more, not listed`, severity }];
}

function versionAtLeast(version: string, min: [number, number, number]): boolean {
  const parts = version.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i];
  }
  return true;
}

function delimitersOf(h: Hl7Header): Delimiters {
  const e = h.encodingCharacters;
  if (!h.fieldSeparator || !e || e.length < 2) return DEFAULT_DELIMITERS;
  return { field: h.fieldSeparator, component: e[0], repetition: e[1], escape: e[2] ?? '', subcomponent: e[3] ?? '', truncation: e[4] ?? '' };
}

/**
 * Builds the acknowledgement of a message (original mode): MSH mirrors the original's sender and
 * receiver, version, processing id and character set, MSH-9 is ACK^<event>^ACK; MSA carries the code
 * and the original control id; one ERR per error, in the v2.5 form (ERR-2 location, ERR-3 code from
 * table 0357, ERR-4 severity, ERR-8 text) or, for versions before 2.5, the ERR-1 form — at most
 * `maxErrors` (20) of them, then one ERR counting the rest (listedErrors).
 */
export function buildAck(original: Hl7Message | Hl7Header, opts: AckOptions): string {
  const h = original instanceof Hl7Message ? original.header() : original;
  const d = delimitersOf(h);
  const version = h.version || '2.5';
  const ack = createMessage({
    type: 'ACK',
    event: h.event,
    structure: versionAtLeast(version, [2, 3, 1]) && h.event ? 'ACK' : '',
    controlId: opts.controlId,
    version,
    processingId: h.processingId || 'P',
    sendingApplication: opts.sendingApplication ?? h.receivingApplication,
    sendingFacility: opts.sendingFacility ?? h.receivingFacility,
    receivingApplication: h.sendingApplication,
    receivingFacility: h.sendingFacility,
    charset: h.charset,
    delimiters: d,
  });
  if (opts.countryCode) ack.segments[0].set(17, opts.countryCode);
  const table = opts.errorTable ?? { name: 'HL70357', labels: HL7_ERROR_CODES };
  const msa = ack.addSegment('MSA');
  msa.set(1, opts.code);
  msa.set(2, h.controlId);
  if (opts.text) msa.set(3, opts.text);
  const errors = listedErrors(opts.errors ?? [], opts.maxErrors);
  const v25 = versionAtLeast(version, [2, 5, 0]);
  for (const e of errors) {
    const err = ack.addSegment('ERR');
    const loc = (e.location ?? '').split('^');
    const label = table.labels[e.code] ?? '';
    const text = e.text ?? (errors.length === 1 ? opts.text : undefined) ?? label;
    if (v25) {
      if (e.location) err.setRaw(2, loc.map((p) => escapeValue(p, d)).join(d.component));
      err.setField(3, [e.code, label, table.name]);
      err.set(4, e.severity ?? 'E');
      if (e.application) err.setField(5, [e.application.code, e.application.text, e.application.system]);
      if (text) err.set(8, text);
    } else {
      // ERR-1 (ELD): segment^sequence^field^code&text&HL70357
      const sub = d.subcomponent || '&';
      const code = [e.code, text, table.name].map((p) => escapeValue(p, d)).join(sub);
      const where = [0, 1, 2].map((i) => escapeValue(loc[i] ?? '', d));
      err.setRaw(1, [...where, code].join(d.component));
    }
  }
  return ack.toString();
}

export interface ParsedAck {
  /** MSA-1: AA, AE, AR (or CA, CE, CR in enhanced mode). */
  code: string;
  /** MSA-2: the control id of the message acknowledged. */
  controlId: string;
  /** MSA-3, or else the first ERR text. */
  text: string;
  errors: AckError[];
}

/** Reads an acknowledgement: MSA and ERR segments. Throws NO_MSA when there is no MSA segment. */
export function parseAck(input: string | Buffer | Hl7Message): ParsedAck {
  const msg = input instanceof Hl7Message ? input : parseHl7(input, { requireHeader: false });
  const msa = msg.segment('MSA');
  if (!msa) throw new Hl7ParseError('NO_MSA', 'the acknowledgement has no MSA segment');
  const errors: AckError[] = msg.all('ERR').map((err) => {
    const location = [1, 2, 3, 4, 5, 6].map((c) => err.value(2, 1, c)).join('^').replace(/\^+$/, '');
    const severity = err.value(4);
    if (err.value(3)) {
      const parsed: AckError = { code: err.value(3), text: err.value(8) || err.value(3, 1, 2), location: location || undefined, severity: (severity || undefined) as AckError['severity'] };
      if (err.value(5)) parsed.application = { code: err.value(5), text: err.value(5, 1, 2), system: err.value(5, 1, 3) };
      return parsed;
    }
    // ERR-1 (before v2.5): segment^sequence^field^code&text
    const old = [1, 2, 3].map((c) => err.value(1, 1, c)).join('^').replace(/\^+$/, '');
    return { code: err.value(1, 1, 4, 1), text: err.value(1, 1, 4, 2), location: old || undefined };
  });
  const text = msa.value(3) || errors.find((e) => e.text)?.text || '';
  return { code: msa.value(1), controlId: msa.value(2), text, errors };
}

/** The header used to answer input with no readable MSH segment (HL7 v2.5, UTF-8, addressed to nobody). */
const UNKNOWN_HEADER: Hl7Header = {
  fieldSeparator: '|',
  encodingCharacters: '^~\\&',
  type: '',
  event: '',
  structure: '',
  controlId: '',
  version: '2.5',
  charset: '',
  processingId: 'P',
  sendingApplication: '',
  sendingFacility: '',
  receivingApplication: '',
  receivingFacility: '',
  dateTime: '',
};

/** Text reduced to printable ASCII: accents dropped, dashes and quotes simplified, anything else '?'. */
function asciiText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d\u00ab\u00bb]/g, '"')
    .replace(/\u2026/g, '...')
    .replace(/[^\x20-\x7e]/g, '?');
}

/**
 * Builds an acknowledgement that can always be sent, even for input whose header is unknown or odd
 * (see buildAck for its content). Never throws. Tried in turn, keeping the first one that builds and
 * that its own MSH-18 character set can encode (encodeHl7):
 * 1. buildAck on `original` (the ACK declares the original's MSH-18);
 * 2. the same with the texts reduced to ASCII (a text character the charset cannot carry, e.g. '–' in
 *    ISO 8859-1);
 * 3. the same without MSH-18 (UTF-8), e.g. when the original declares a charset the codec does not
 *    support;
 * 4. a minimal ACK written by hand: MSH (v2.5, no MSH-18), MSA (code, original control id, text) and
 *    the first error as ERR (code and text), separators in the texts replaced by spaces.
 * With no header at all (`original` undefined: input with no readable MSH), an empty v2.5 header is
 * used: the ACK is addressed to nobody and MSA-2 is empty.
 */
export function buildSafeAck(original: Hl7Message | Hl7Header | undefined, opts: AckOptions): string {
  let header: Hl7Header = UNKNOWN_HEADER;
  try {
    if (original) header = original instanceof Hl7Message ? original.header() : original;
  } catch {
    // an unreadable header: answered as unknown
  }
  // capped once, before any text is rewritten: thousands of errors cost no more than twenty
  if (opts.errors && opts.errors.length > (opts.maxErrors ?? MAX_ACK_ERRORS) + 1) opts = { ...opts, errors: listedErrors(opts.errors, opts.maxErrors) };
  // the texts in ASCII: written only when the first attempt fails (the usual ACK needs none of it)
  const ascii = (): AckOptions => ({
    ...opts,
    text: asciiText(opts.text),
    errors: opts.errors?.map((e) => ({
      ...e,
      text: asciiText(e.text),
      location: asciiText(e.location),
      ...(e.application ? { application: { ...e.application, text: asciiText(e.application.text) ?? '' } } : {}),
    })),
  });
  const attempts: (() => [Hl7Header, AckOptions])[] = [() => [header, opts], () => [header, ascii()], () => [{ ...header, charset: '' }, ascii()]];
  for (const attempt of attempts) {
    try {
      const [h, o] = attempt();
      const ack = buildAck(h, o);
      // throws when its MSH-18 cannot carry the text. An ACK in ASCII is left alone: buildAck accepts only
      // the character sets the codec writes, all of which carry ASCII as is — the bytes are encoded once,
      // where the ACK is sent (mllp-response).
      if (/[^\x00-\x7f]/.test(ack)) encodeHl7(ack);
      return ack;
    } catch {
      // next attempt
    }
  }
  const ts = formatDateTime().slice(0, 14);
  const clean = (s: unknown) => (asciiText(typeof s === 'string' ? s.replace(/[\r\n]/g, ' ') : '') ?? '').replace(/[|^~\\&]/g, ' ');
  let controlId = '';
  try {
    controlId = header.controlId;
  } catch {
    // not readable either
  }
  const first = opts.errors?.[0];
  return (
    `MSH|^~\\&|||||${ts}||ACK|${ts}${Math.floor(Math.random() * 1e6)}|P|2.5\r` +
    `MSA|${clean(opts.code)}|${clean(controlId)}|${clean(opts.text)}\r` +
    (first ? `ERR|||${clean(first.code)}^^HL70357|${clean(first.severity ?? 'E')}||||${clean(first.text ?? opts.text)}\r` : '')
  );
}
