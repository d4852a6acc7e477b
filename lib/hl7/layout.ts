// A message laid out segment by segment, field by field, with the names of the standard (./fields.ts): what
// the console shows of a journaled message. Values stay as sent (ER7) beside their decoded components; a
// value longer than `maxValue` (a base64 document in OBX-5) is cut, its length given.
import { Hl7ParseError } from './errors';
import { parseHl7 } from './message';
import { SEGMENT_NAMES, fieldName } from './fields';

export interface FieldLayout {
  /** "PID-5". */
  position: string;
  /** The standard's name ('' when the table has none). */
  name: string;
  /** The field as sent (ER7, escapes kept), cut after maxValue characters. */
  value: string;
  /** Set when the value was cut: its whole length in characters. */
  length?: number;
  /** Each repetition's components, decoded (sub-components joined with '&'); absent for a cut value or a plain one. */
  repetitions?: string[][];
}

export interface SegmentLayout {
  /** The segment id (MSH, PID…) and its occurrence among the segments with that id (1-based). */
  segment: string;
  occurrence: number;
  /** The standard's name of the segment ('' when unknown). */
  name: string;
  /** The fields that hold a value, in order. */
  fields: FieldLayout[];
}

export interface MessageLayout {
  /** The character set it was read in (MSH-18, else the default). */
  encoding: string | null;
  segments: SegmentLayout[];
  /** Why it could not be read as HL7 (a frame refused by mllp-in): then `text` gives its beginning. */
  error?: string;
  text?: string;
}

/** Default longest value shown in full. */
export const MAX_VALUE = 2048;

export function layoutMessage(input: Buffer | string, opts: { maxValue?: number } = {}): MessageLayout {
  const maxValue = opts.maxValue ?? MAX_VALUE;
  let encoding: string | null = null;
  let msg;
  try {
    msg = parseHl7(input);
    encoding = msg.encoding;
  } catch (err) {
    const text = Buffer.isBuffer(input) ? input.subarray(0, 4096).toString('latin1') : input.slice(0, 4096);
    return { encoding, segments: [], error: err instanceof Hl7ParseError || err instanceof Error ? err.message : String(err), text };
  }
  const seen = new Map<string, number>();
  const segments = msg.segments.map((seg): SegmentLayout => {
    const occurrence = (seen.get(seg.name) ?? 0) + 1;
    seen.set(seg.name, occurrence);
    const fields: FieldLayout[] = [];
    const all = seg.fields;
    for (let n = 1; n < all.length; n++) {
      const raw = all[n];
      if (!raw) continue;
      const f: FieldLayout = { position: `${seg.name}-${n}`, name: fieldName(seg.name, n), value: raw.length > maxValue ? raw.slice(0, maxValue) : raw };
      if (raw.length > maxValue) f.length = raw.length;
      else if (!(seg.name === 'MSH' && n <= 2)) {
        const value = seg.field(n);
        if (value.length > 1 || value[0]?.length > 1 || value[0]?.[0]?.length > 1) f.repetitions = value.map((rep) => rep.map((comp) => comp.join('&')));
      }
      fields.push(f);
    }
    return { segment: seg.name, occurrence, name: SEGMENT_NAMES[seg.name]?.name ?? '', fields };
  });
  return { encoding, segments };
}
