import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  buildAck,
  createMessage,
  decodeHl7,
  encodeHl7,
  encodeText,
  Hl7ParseError,
  parseAck,
  parseHl7,
  parsePath,
  readHeader,
} from '../../lib/hl7';
import { oruWithDocument, pamFrAdt } from '../fixtures/hl7';

function parseError(fn: () => unknown): Hl7ParseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Hl7ParseError, `expected an Hl7ParseError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('lib/hl7 codec', () => {
  describe('parsing a PAM FR ADT', () => {
    const msg = parseHl7(pamFrAdt());

    it('reads the header summary', () => {
      assert.deepEqual(msg.header(), {
        fieldSeparator: '|',
        encodingCharacters: '^~\\&',
        sendingApplication: 'GAM',
        sendingFacility: 'CHU-X',
        receivingApplication: 'DPI',
        receivingFacility: 'CHU-X',
        dateTime: '20261123101500+0100',
        type: 'ADT',
        event: 'A28',
        structure: 'ADT_A05',
        controlId: 'MSG000123',
        processingId: 'P',
        version: '2.5',
        charset: '8859/1',
      });
    });

    it('reads the INS in the second PID-3 repetition, down to sub-components', () => {
      assert.equal(msg.get('PID-3[2]'), '180017512345639');
      assert.equal(msg.get('PID-3[2].5'), 'INS');
      assert.equal(msg.get('PID-3[2].4'), 'ASIP-SANTE-INS-NIR');
      assert.equal(msg.get('PID-3[2].4.2'), '1.2.250.1.213.1.4.8');
      assert.equal(msg.get('PID-3[2].4.3'), 'ISO');
      assert.deepEqual(msg.getAll('PID-3.5'), ['PI', 'INS']);
      assert.equal(msg.get('PID-3'), '123456', 'omitted parts default to the first');
    });

    it('gives structured fields and repeating PID-32', () => {
      assert.deepEqual(msg.getAll('PID-32'), ['VALI', 'HOMD']);
      const names = msg.segment('PID')!.field(5);
      assert.equal(names.length, 2);
      assert.deepEqual(names[0].map((c) => c[0]), ['MARTIN', 'Marie', 'Marie Louise Anne', '', '', '', 'L']);
      assert.equal(msg.get('PID-11[2].9'), '75056');
      assert.equal(msg.get('PID-11[2].11'), 'BDL');
    });

    it('numbers MSH fields from the field separator (MSH-1) and encoding characters (MSH-2)', () => {
      assert.equal(msg.get('MSH-1'), '|');
      assert.equal(msg.get('MSH-2'), '^~\\&');
      assert.equal(msg.get('MSH-9.2'), 'A28');
      assert.equal(msg.get('MSH-12.3'), '2.10');
    });

    it('answers empty strings for what is absent', () => {
      assert.equal(msg.get('PID-99'), '');
      assert.equal(msg.get('PID-3[5]'), '');
      assert.equal(msg.get('PID-7.2'), '');
      assert.equal(msg.get('OBX-5'), '');
      assert.equal(msg.get('PID[2]-3'), '');
      assert.deepEqual(msg.getAll('OBX-5'), []);
    });

    it('writes the message back byte for byte', () => {
      assert.equal(msg.toString(), pamFrAdt());
      assert.equal(parseHl7(pamFrAdt({ terminator: '\n' })).toString(), pamFrAdt());
    });
  });

  describe('a field of 20,000 repetitions (STYLE: split once, read many times)', () => {
    it('reads every repetition with one split of the field, not one scan per repetition', () => {
      const reps = Array.from({ length: 20_000 }, (_, i) => `${i}^^^CHU-X&1.2.250.1.999.1.1&ISO^PI`).join('~');
      const msg = parseHl7(`MSH|^~\\&|A|B|C|D|20261123||ADT^A28^ADT_A05|1|P|2.5\rPID|1||${reps}\r`);
      const pid = msg.segment('PID')!;
      // count the work: every String.prototype.split and indexOf over the whole field
      const field = pid.raw(3);
      const work = { splits: 0, scans: 0 };
      const split = String.prototype.split;
      const indexOf = String.prototype.indexOf;
      String.prototype.split = function (this: string, ...a: unknown[]) {
        if (this.length === field.length) work.splits++;
        return (split as (...x: unknown[]) => string[]).apply(this, a);
      } as typeof split;
      String.prototype.indexOf = function (this: string, ...a: unknown[]) {
        if (this.length === field.length) work.scans++;
        return (indexOf as (...x: unknown[]) => number).apply(this, a);
      } as typeof indexOf;
      let ids = 0;
      try {
        const n = pid.repetitions(3);
        for (let r = 1; r <= n; r++) if (pid.value(3, r, 1) === String(r - 1) && pid.value(3, r, 4, 2) === '1.2.250.1.999.1.1') ids++;
      } finally {
        String.prototype.split = split;
        String.prototype.indexOf = indexOf;
      }
      assert.equal(ids, 20_000);
      assert.equal(work.splits, 1, 'the field is split into repetitions once');
      assert.ok(work.scans <= 1, `${work.scans} scans of the whole field`);
    });
  });

  describe('linear work on big messages (issue 11: PID-3 of 20,000 repetitions blocked Node-RED for 15 s)', () => {
    const reps = Array.from({ length: 20_000 }, (_, i) => `${i}^^^CHU-X&1.2.250.1.999.1.1&ISO^PI`).join('~');
    const text = `MSH|^~\\&|A|B|C|D|20261123||ADT^A28^ADT_A05|1|P|2.5|||||FRA|8859/1\rPID|1||${reps}\r`;

    /** Counts the String scans (split, indexOf, search, slice…) of strings at least `min` long while fn runs. */
    function bigScans(min: number, fn: () => void): number {
      const names = ['split', 'indexOf', 'lastIndexOf', 'search', 'match', 'slice', 'replace', 'includes', 'startsWith'] as const;
      const saved = names.map((n) => String.prototype[n]);
      let scans = 0;
      names.forEach((n, i) => {
        (String.prototype as unknown as Record<string, unknown>)[n] = function (this: string, ...a: unknown[]) {
          if (this.length >= min) scans++;
          return (saved[i] as (...x: unknown[]) => unknown).apply(this, a);
        };
      });
      try {
        fn();
      } finally {
        names.forEach((n, i) => ((String.prototype as unknown as Record<string, unknown>)[n] = saved[i]));
      }
      return scans;
    }

    it('parseHl7 (bytes or text) and header() scan the message a few times, whatever the number of repetitions', () => {
      let msg = parseHl7(text);
      const fromText = bigScans(reps.length, () => {
        msg = parseHl7(text);
        msg.header();
      });
      assert.ok(fromText <= 6, `${fromText} scans of the whole message`);
      const bytes = Buffer.from(text, 'latin1');
      const fromBytes = bigScans(reps.length, () => parseHl7(bytes).header());
      assert.ok(fromBytes <= 6, `${fromBytes} scans of the whole message`);
    });

    it('getAll and field() split the field once', () => {
      const msg = parseHl7(text);
      let ids: string[] = [];
      const getAllScans = bigScans(reps.length, () => {
        ids = msg.getAll('PID-3.1');
        msg.getAll('PID-3.4.2');
      });
      assert.equal(ids.length, 20_000);
      assert.equal(ids[19_999], '19999');
      assert.ok(getAllScans <= 4, `getAll: ${getAllScans} scans of the segment and field (the segment cut once, the field split once)`);
      const again = parseHl7(text);
      let field: string[][][] = [];
      const fieldScans = bigScans(reps.length, () => (field = again.segment('PID')!.field(3)));
      assert.equal(field.length, 20_000);
      assert.equal(field[7][3][1], '1.2.250.1.999.1.1');
      assert.ok(fieldScans <= 4, `field(): ${fieldScans} scans of the segment and field`);
    });

    it('get("NTE[k]-3") for 10,000 segments reads each segment id a bounded number of times, not once per earlier occurrence', () => {
      const lines = Array.from({ length: 10_000 }, (_, i) => `NTE|${i + 1}||line ${i + 1}`);
      const msg = parseHl7(`MSH|^~\\&|A|B|C|D|20261123||ORU^R01^ORU_R01|1|P|2.5\r${lines.join('\r')}\r`);
      let reads = 0;
      for (const seg of msg.segments) {
        const name = seg.name;
        Object.defineProperty(seg, 'name', { get: () => (reads++, name) });
      }
      let found = 0;
      for (let k = 1; k <= 10_000; k++) if (msg.get(`NTE[${k}]-3`) === `line ${k}`) found++;
      assert.equal(found, 10_000);
      assert.equal(msg.all('NTE').length, 10_000);
      // indexed once (one read each), then one read per value (is it MSH?): 10,000 × 10,000 / 2 reads before
      assert.ok(reads <= 3 * msg.segments.length, `${reads} segment ids read for ${msg.segments.length} segments`);
    });

    it('an index of segments follows the segments appended after a lookup', () => {
      const m = parseHl7('MSH|^~\\&|A|B|C|D|20261123||ORU^R01^ORU_R01|1|P|2.5\rNTE|1||a\r');
      assert.equal(m.get('NTE-3'), 'a');
      m.set('NTE[2]-3', 'b');
      m.addSegment('ZZZ').set(1, 'z');
      assert.equal(m.get('NTE[2]-3'), 'b');
      assert.equal(m.get('ZZZ-1'), 'z');
      assert.equal(m.all('NTE').length, 2);
    });
  });

  describe('segment terminators', () => {
    for (const [name, t] of [['CR', '\r'], ['LF', '\n'], ['CRLF', '\r\n']] as const) {
      it(`accepts ${name}`, () => {
        const m = parseHl7(pamFrAdt({ terminator: t }));
        assert.deepEqual(m.segments.map((s) => s.name), ['MSH', 'EVN', 'PID', 'PD1', 'PV1', 'ZBE']);
        assert.equal(m.get('ZBE-4'), 'INSERT');
      });
    }
    it('ignores blank lines and a leading byte order mark', () => {
      const m = parseHl7('\ufeff' + pamFrAdt().replace('\rEVN', '\r\r\nEVN'));
      assert.equal(m.segments.length, 6);
    });
  });

  describe('escape sequences', () => {
    it('decodes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ on read', () => {
      const m = parseHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\r');
      assert.equal(m.get('NTE-3'), 'a|b^c&d~e\\f');
    });
    it('decodes \\X..\\ hex in the message character set, \\.br\\ and drops \\H\\ \\N\\', () => {
      const latin1 = parseHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|8859/1\rNTE|1||\\XE9\\t\\XE9\\\\.br\\\\H\\gras\\N\\\r');
      assert.equal(latin1.get('NTE-3'), 'été\ngras');
      const utf8 = parseHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|UNICODE UTF-8\rNTE|1||\\XC3A9\\\r');
      assert.equal(utf8.get('NTE-3'), 'é');
    });
    it('keeps unknown and unterminated sequences as they are', () => {
      const m = parseHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5\rNTE|1||\\Zabc\\ x \\C2842\\ y \\Fno end\r');
      assert.equal(m.get('NTE-3'), '\\Zabc\\ x \\C2842\\ y \\Fno end');
    });
    it('uses the delimiters MSH-1 and MSH-2 declare', () => {
      const m = parseHl7('MSH#*@!%#A#B#C#D#20260101##ADT*A08#1#P#2.5\rPID#1##123*x!F!y*z%q@456#\r');
      assert.equal(m.get('PID-3'), '123');
      assert.equal(m.get('PID-3.2'), 'x#y');
      assert.equal(m.get('PID-3.3'), 'z');
      assert.equal(m.get('PID-3.3.2'), 'q');
      assert.equal(m.get('PID-3[2]'), '456');
      m.set('PID-5.1', 'a*b#c');
      assert.equal(m.segment('PID')!.raw(5), 'a!S!b!F!c');
    });
    it('encodes delimiters, CR and LF on write and reads them back', () => {
      const m = createMessage({ type: 'ADT', event: 'A08', controlId: 'X1' });
      const tricky = 'a|b^c~d&e\\f\r\ng';
      m.set('NTE-3', tricky);
      const text = m.toString();
      assert.ok(!/NTE[^\r]*\n/.test(text), 'no raw line break inside a segment');
      assert.equal(parseHl7(text).get('NTE-3'), tricky);
      assert.equal(parseHl7(text).segment('NTE')!.raw(3), 'a\\F\\b\\S\\c\\R\\d\\T\\e\\E\\f\\X0D\\\\.br\\g');
    });
  });

  describe('character sets (MSH-18)', () => {
    const accents = 'ÉLODIE Françoise Œuvre';
    it('decodes 8859/1 bytes', () => {
      const text = pamFrAdt({ birthName: 'BÉRANGER', firstName: 'Hélène', charset: '8859/1' });
      const buf = Buffer.from(text, 'latin1');
      assert.equal(buf.includes(Buffer.from([0xc9])), true, 'É is one Latin-1 byte');
      const m = parseHl7(buf);
      assert.equal(m.get('PID-5.1'), 'BÉRANGER');
      assert.equal(m.get('PID-5.2'), 'Hélène');
      assert.deepEqual(encodeHl7(m.toString()), buf);
    });
    it('decodes 8859/15 (euro sign, Œ) and UTF-8', () => {
      const t15 = `MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|8859/15\rNTE|1||${accents} 10 €\r`;
      const b15 = encodeHl7(t15);
      assert.equal(b15.length, t15.length, 'one byte per character');
      assert.equal(b15[b15.length - 2], 0xa4, '€ is 0xA4 in 8859-15');
      assert.equal(parseHl7(b15).get('NTE-3'), `${accents} 10 €`);
      const t8 = t15.replace('8859/15', 'UNICODE UTF-8');
      assert.equal(parseHl7(Buffer.from(t8, 'utf8')).get('NTE-3'), `${accents} 10 €`);
      assert.equal(decodeHl7(Buffer.from(t8, 'utf8')), t8);
    });
    it('reads undeclared bytes as UTF-8 when valid, else as Latin-1', () => {
      const t = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5\rNTE|1||Hélène\r';
      assert.equal(parseHl7(Buffer.from(t, 'utf8')).get('NTE-3'), 'Hélène');
      assert.equal(parseHl7(Buffer.from(t, 'latin1')).get('NTE-3'), 'Hélène');
    });
    it('refuses a character set it does not handle, and characters the set cannot carry', () => {
      const e = parseError(() => parseHl7(Buffer.from('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|ISO IR87\r')));
      assert.equal(e.code, 'UNSUPPORTED_CHARSET');
      assert.match(e.message, /ISO IR87/);
      const e2 = parseError(() => encodeHl7('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|8859/1\rNTE|1||10 €\r'));
      assert.equal(e2.code, 'UNENCODABLE');
      assert.match(e2.message, /U\+20AC/);
    });
    it('writes each 8859-1 character as its byte, and names the first one ASCII or 8859-1 cannot carry', () => {
      const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
      assert.deepEqual([...encodeText(all, 'latin1')], Array.from({ length: 256 }, (_, i) => i));
      assert.deepEqual([...encodeText(all.slice(0, 128), 'ascii')], Array.from({ length: 128 }, (_, i) => i));
      const ascii = parseError(() => encodeText('PID|1||Hélène Œ', 'ascii'));
      assert.equal(ascii.code, 'UNENCODABLE');
      assert.match(ascii.message, /U\+00E9 at offset 8 cannot be written in ASCII/);
      assert.match(parseError(() => encodeText('Hélène Œ', 'latin1')).message, /U\+0152 at offset 7 cannot be written in 8859\/1/);
    });
  });

  describe('a 5 MB OBX-5 base64 payload', () => {
    it('parses, reads and writes it back intact', () => {
      const data = randomBytes(3_750_000).toString('base64'); // 5,000,000 characters
      const text = oruWithDocument(data);
      const m = parseHl7(Buffer.from(text, 'utf8'));
      assert.equal(m.get('OBX-5.2'), 'application');
      assert.equal(m.get('OBX-5.4'), 'Base64');
      assert.equal(m.get('OBX-5.5').length, 5_000_000);
      assert.equal(m.get('OBX-5.5'), data);
      assert.equal(m.toString(), text);
    });
  });

  describe('bad input', () => {
    const cases: [string, string | Buffer, string, RegExp][] = [
      ['an empty string', '', 'EMPTY', /empty/],
      ['white space', ' \r\n ', 'EMPTY', /empty/],
      ['an empty Buffer', Buffer.alloc(0), 'EMPTY', /empty/],
      ['text that is not HL7', 'hello world', 'NOT_HL7', /starts with "hel"/],
      ['XML', '<ClinicalDocument/>', 'NOT_HL7', /MSH/],
      ['a header cut before the delimiters', 'MSH', 'BAD_DELIMITERS', /MSH-1/],
      ['a header cut inside MSH-2', 'MSH|^', 'BAD_DELIMITERS', /MSH-2/],
      ['alphanumeric delimiters', 'MSH|abcd|A', 'BAD_DELIMITERS', /MSH-2/],
      ['a header truncated before MSH-9', 'MSH|^~\\&|GAM|CHU-X|DPI', 'INCOMPLETE_HEADER', /MSH-9 .*MSH-10 .*MSH-12 .*truncated/],
      ['a header without control id', 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01||P|2.5\r', 'INCOMPLETE_HEADER', /^MSH-10 \(message control id\) is empty/],
      ['a line that is not a segment', 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID|1\rhello there\r', 'BAD_SEGMENT', /segment 3/],
    ];
    for (const [what, input, code, re] of cases) {
      it(`rejects ${what} with ${code}`, () => {
        const e = parseError(() => parseHl7(input));
        assert.equal(e.code, code);
        assert.match(e.message, re);
      });
    }
    it('rejects values that are not text', () => {
      assert.equal(parseError(() => parseHl7(42 as unknown as string)).code, 'NOT_HL7');
      assert.equal(parseError(() => parseHl7(null as unknown as string)).code, 'NOT_HL7');
    });
    it('names a bad accessor path', () => {
      const m = parseHl7(pamFrAdt());
      assert.match(parseError(() => m.get('PID.3')).message, /not an HL7 path/);
      assert.equal(parseError(() => m.get('PID-0')).code, 'BAD_PATH');
      assert.deepEqual(parsePath('OBX[2]-5[3].4.2'), { segment: 'OBX', occurrence: 2, field: 5, repetition: 3, component: 4, subcomponent: 2 });
    });
    it('reads the header of a message whose body is unreadable (readHeader)', () => {
      const h = readHeader(Buffer.from(pamFrAdt().replace('EVN', 'E\u0000N'), 'latin1'));
      assert.equal(h.controlId, 'MSG000123');
      assert.equal(h.event, 'A28');
    });
  });

  describe('building messages', () => {
    it('creates MSH and sets values by path, creating segments and repetitions', () => {
      const m = createMessage({
        type: 'ADT',
        event: 'A28',
        structure: 'ADT_A05',
        controlId: 'C1',
        sendingApplication: 'DPI^1.2.3^ISO',
        dateTime: '20261123100000+0100',
        charset: '8859/1',
      });
      m.set('PID-3[2].4.2', '1.2.250.1.213.1.4.8');
      m.set('PID-3[2].1', '180017512345639');
      m.set('PID-3.1', '123');
      m.set('OBX[1]-1', '1');
      m.set('OBX[2]-1', '2');
      assert.equal(
        m.toString(),
        'MSH|^~\\&|DPI^1.2.3^ISO||||20261123100000+0100||ADT^A28^ADT_A05|C1|P|2.5||||||8859/1\r' +
          'PID|||123~180017512345639^^^&1.2.250.1.213.1.4.8\r' +
          'OBX|1\rOBX|2\r',
      );
      assert.throws(() => m.set('OBX[4]-1', 'x'), /earlier occurrences/);
      assert.throws(() => m.set('MSH-2', 'x'), /delimiters/);
      assert.equal(m.header().sendingApplication, 'DPI^1.2.3^ISO');
      m.set('MSH-10', 'C2');
      assert.equal(m.header().controlId, 'C2', 'the header summary follows changes');
    });
    it('writes Latin-1 bytes for an 8859/1 message', () => {
      const m = createMessage({ type: 'ADT', event: 'A08', charset: '8859/1' });
      m.set('PID-5', 'BÉRANGER');
      const buf = m.toBuffer();
      assert.ok(buf.includes(Buffer.from('BÉRANGER', 'latin1')));
      assert.equal(parseHl7(buf).get('PID-5'), 'BÉRANGER');
    });
  });

  describe('acknowledgements', () => {
    const adt = parseHl7(pamFrAdt());
    it('builds an AA mirroring the original header', () => {
      const ack = parseHl7(buildAck(adt, { code: 'AA', controlId: 'ACK1' }));
      assert.equal(ack.get('MSH-3'), 'DPI');
      assert.equal(ack.get('MSH-5'), 'GAM');
      assert.equal(ack.get('MSH-9'), 'ACK');
      assert.equal(ack.get('MSH-9.2'), 'A28');
      assert.equal(ack.get('MSH-9.3'), 'ACK');
      assert.equal(ack.get('MSH-10'), 'ACK1');
      assert.equal(ack.get('MSH-12'), '2.5');
      assert.equal(ack.get('MSH-18'), '8859/1');
      assert.equal(ack.get('MSA-1'), 'AA');
      assert.equal(ack.get('MSA-2'), 'MSG000123');
      assert.equal(ack.all('ERR').length, 0);
    });
    it('builds an AE with ERR-2 location, ERR-3 table 0357 code, ERR-4 severity and ERR-8 text', () => {
      const text = buildAck(adt, {
        code: 'AE',
        text: 'clé INS invalide',
        errors: [{ code: '102', location: 'PID^1^3^2', text: 'INS key 39 does not match (expected 40)' }],
      });
      const ack = parseHl7(text);
      assert.equal(ack.get('MSA-1'), 'AE');
      assert.equal(ack.get('MSA-3'), 'clé INS invalide');
      assert.equal(ack.segment('ERR')!.raw(2), 'PID^1^3^2');
      assert.equal(ack.get('ERR-3'), '102');
      assert.equal(ack.get('ERR-3.2'), 'Data type error');
      assert.equal(ack.get('ERR-3.3'), 'HL70357');
      assert.equal(ack.get('ERR-4'), 'E');
      assert.equal(ack.get('ERR-8'), 'INS key 39 does not match (expected 40)');
      const parsed = parseAck(text);
      assert.equal(parsed.code, 'AE');
      assert.equal(parsed.controlId, 'MSG000123');
      assert.deepEqual(parsed.errors, [{ code: '102', text: 'INS key 39 does not match (expected 40)', location: 'PID^1^3^2', severity: 'E' }]);
    });
    it('uses ERR-1 for versions before 2.5', () => {
      const old = parseHl7(pamFrAdt().replace('|2.5^FRA^2.10|', '|2.3.1|'));
      const text = buildAck(old, { code: 'AR', errors: [{ code: '200', location: 'MSH^1^9' }] });
      assert.match(text, /\rERR\|MSH\^1\^9\^200&Unsupported message type&HL70357\r/);
      const parsed = parseAck(text);
      assert.equal(parsed.code, 'AR');
      assert.equal(parsed.errors[0].code, '200');
      assert.equal(parsed.errors[0].location, 'MSH^1^9');
      assert.equal(parsed.text, 'Unsupported message type');
    });
    it('builds from a header summary alone and escapes texts', () => {
      const text = buildAck(readHeader(pamFrAdt()), { code: 'AR', text: 'size > 10 MiB | rejected' });
      assert.equal(parseAck(text).text, 'size > 10 MiB | rejected');
      assert.match(text, /MSA\|AR\|MSG000123\|size > 10 MiB \\F\\ rejected/);
    });
    it('refuses an ACK without MSA', () => {
      assert.equal(parseError(() => parseAck(pamFrAdt())).code, 'NO_MSA');
    });
  });
});
