// Issue 11, "Strict decoding": bytes that are not valid in the character set MSH-18 declares are refused
// (BAD_ENCODING naming MSH-18, the first bad byte, its offset and location), never read as U+FFFD.
import assert from 'node:assert/strict';
import { Hl7EncodingError, checkMessageBytes, decodeHl7, decodeMessageBytes, parseHl7, readHeader } from '../../lib/hl7';

/** An ADT message declaring `charset`, whose PID-5 holds `name` given as bytes. */
function message(charset: string, name: Buffer, opts: { terminator?: string; bom?: boolean } = {}): Buffer {
  const t = opts.terminator ?? '\r';
  const head = Buffer.from(
    [`MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20261123101500||ADT^A28^ADT_A05|MSG-STRICT|P|2.5|||||FRA|${charset}`, 'EVN||20261123101500', 'PID|1||123456^^^CHU-X&1.2.250.1.999.1.1&ISO^PI||'].join(t),
    'latin1',
  );
  return Buffer.concat([opts.bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), head, name, Buffer.from(`^JEAN^^^^^L||19800101|M${t}`, 'latin1')]);
}

function encodingError(fn: () => unknown): Hl7EncodingError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Hl7EncodingError, `expected an Hl7EncodingError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a BAD_ENCODING error');
}

describe('lib/hl7 strict decoding (issue 11): bytes must be valid in the character set MSH-18 declares', () => {
  const latin1Name = Buffer.from('BÉRANGER', 'latin1'); // É = 0xC9, then "R": not UTF-8

  describe('UNICODE UTF-8', () => {
    it('refuses Latin-1 bytes, naming MSH-18, the byte, its offset and where it lies (PID^1^5)', () => {
      const buf = message('UNICODE UTF-8', latin1Name);
      const e = encodingError(() => decodeMessageBytes(buf));
      assert.equal(e.code, 'BAD_ENCODING');
      assert.equal(e.charset, 'UNICODE UTF-8');
      assert.equal(e.offset, buf.indexOf(0xc9));
      assert.equal(e.byte, 0xc9);
      assert.equal(e.location, 'PID^1^5');
      assert.match(e.message, /byte 0xC9 at offset \d+ \(PID\^1\^5\) is not valid UTF-8 \(a sequence cut short\)/);
      assert.match(e.message, /"UNICODE UTF-8" \(MSH-18\)/);
      assert.doesNotMatch(e.message, /BÉRANGER|B.RANGER/, 'no patient data in the error');
    });

    const invalid: [string, number[], RegExp][] = [
      ['an overlong "/" (C0 AF)', [0xc0, 0xaf], /overlong/],
      ['an overlong three-byte form (E0 80 AF)', [0xe0, 0x80, 0xaf], /overlong/],
      ['a CESU-8 surrogate pair (ED A0 80 ED B0 80)', [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], /surrogate \(CESU-8\)/],
      ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], /above U\+10FFFF/],
      ['a lone continuation byte (80)', [0x80], /continuation byte/],
      ['a byte never used in UTF-8 (FF)', [0xff], /never used/],
    ];
    for (const [what, bytes, why] of invalid) {
      it(`refuses ${what}`, () => {
        const buf = message('UNICODE UTF-8', Buffer.concat([Buffer.from('DUP'), Buffer.from(bytes), Buffer.from('ONT')]));
        const e = encodingError(() => parseHl7(buf));
        assert.equal(e.offset, buf.indexOf(Buffer.from(bytes)));
        assert.match(e.message, why);
      });
    }

    it('refuses a sequence cut by the end of the message', () => {
      const buf = Buffer.concat([Buffer.from('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|UNICODE UTF-8\rNTE|1||caf', 'latin1'), Buffer.from([0xc3])]);
      const e = encodingError(() => decodeHl7(buf));
      assert.equal(e.offset, buf.length - 1);
      assert.equal(e.location, 'NTE^1^3');
    });

    it('accepts well-formed UTF-8, four-byte sequences included', () => {
      const buf = message('UNICODE UTF-8', Buffer.from('BÉRANGER 𝄞 €', 'utf8'));
      assert.equal(parseHl7(buf).get('PID-5'), 'BÉRANGER 𝄞 €');
    });

    it('counts a byte order mark in the offset', () => {
      const buf = message('UNICODE UTF-8', latin1Name, { bom: true });
      assert.equal(encodingError(() => decodeMessageBytes(buf)).offset, buf.indexOf(0xc9));
    });
  });

  describe('ASCII', () => {
    it('refuses 8-bit bytes', () => {
      const buf = message('ASCII', latin1Name);
      const e = encodingError(() => parseHl7(buf));
      assert.equal(e.offset, buf.indexOf(0xc9));
      assert.match(e.message, /is not ASCII: the message declares "ASCII" \(MSH-18\)/);
    });
    it('accepts 7-bit bytes', () => {
      assert.equal(parseHl7(message('ASCII', Buffer.from('BERANGER'))).get('PID-5'), 'BERANGER');
    });
  });

  describe('8859/1 and 8859/15: every byte is a character, but UTF-8 declared as 8859/x is refused', () => {
    for (const charset of ['8859/1', '8859/15']) {
      it(`${charset}: refuses a message whose 8-bit bytes are all UTF-8 sequences (mis-declared)`, () => {
        const buf = message(charset, Buffer.from('BÉRANGER', 'utf8'));
        const e = encodingError(() => parseHl7(buf));
        assert.equal(e.offset, buf.indexOf(0xc3), 'the first byte of the first UTF-8 sequence');
        assert.equal(e.location, 'PID^1^5');
        assert.match(e.message, new RegExp(`declares "${charset}" \\(MSH-18\\) but its bytes above 0x7F are all UTF-8 sequences`));
      });
      it(`${charset}: accepts Latin-1 bytes, even where some of them happen to form a UTF-8 sequence`, () => {
        // "Ã©" is C3 A9, a UTF-8 sequence; "É" (C9) followed by "R" is not: the message is not UTF-8
        const buf = message(charset, Buffer.from('Ã©BÉRANGER', 'latin1'));
        assert.equal(parseHl7(buf).get('PID-5'), 'Ã©BÉRANGER');
      });
      it(`${charset}: accepts every byte from 0x80 to 0xFF`, () => {
        const all = Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i).filter((b) => b !== 0x0d && b !== 0x0a));
        const text = parseHl7(message(charset, all)).get('PID-5');
        assert.equal(text.length, all.length);
        assert.ok(!text.includes('\ufffd'));
      });
    }
  });

  it('an undeclared MSH-18 still reads UTF-8 when valid, else Latin-1', () => {
    assert.equal(parseHl7(message('', Buffer.from('BÉRANGER', 'utf8'))).get('PID-5'), 'BÉRANGER');
    assert.equal(parseHl7(message('', latin1Name)).get('PID-5'), 'BÉRANGER');
  });

  it('locates the bad byte in MSH fields, later occurrences of a segment and LF-terminated messages', () => {
    const msh4 = Buffer.concat([Buffer.from('MSH|^~\\&|GAM|CHU-', 'latin1'), Buffer.from([0xc9]), Buffer.from('|DPI|X|20260101||ADT^A08|1|P|2.5|||||FRA|UNICODE UTF-8\r', 'latin1')]);
    assert.equal(encodingError(() => decodeHl7(msh4)).location, 'MSH^1^4');
    const nte2 = Buffer.concat([Buffer.from('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|UNICODE UTF-8\nNTE|1||ok\nNTE|2||ok|x', 'latin1'), Buffer.from([0xe9]), Buffer.from('\n')]);
    assert.equal(encodingError(() => decodeHl7(nte2)).location, 'NTE^2^4');
  });

  it('checkMessageBytes checks the bytes without decoding them (for payloads passed on as Buffers)', () => {
    const ok = checkMessageBytes(message('8859/1', latin1Name));
    assert.equal(ok.charset, '8859/1');
    assert.equal(ok.encoding, 'latin1');
    assert.equal(encodingError(() => checkMessageBytes(message('UNICODE UTF-8', latin1Name))).location, 'PID^1^5');
  });

  it('readHeader still reads the header of a refused message, to answer it', () => {
    const h = readHeader(message('UNICODE UTF-8', latin1Name));
    assert.equal(h.controlId, 'MSG-STRICT');
    assert.equal(h.charset, 'UNICODE UTF-8');
    const cut = readHeader(Buffer.concat([Buffer.from('MSH|^~\\&|GAM|CHU-', 'latin1'), Buffer.from([0xc9]), Buffer.from('|DPI|X|20260101||ADT^A08|7|P|2.5|||||FRA|UNICODE UTF-8\r', 'latin1')]));
    assert.equal(cut.controlId, '7');
    assert.equal(cut.sendingFacility, 'CHU-É', 'an MSH invalid in its charset is read as Latin-1');
  });

  it('a \\X..\\ escape whose bytes are not valid in the character set is kept as is, not read as U+FFFD', () => {
    const m = parseHl7(Buffer.from('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|UNICODE UTF-8\rNTE|1||a\\XE9\\b c\\XC3A9\\d\r', 'latin1'));
    assert.equal(m.get('NTE-3'), 'a\\XE9\\b céd');
    const a = parseHl7(Buffer.from('MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5|||||FRA|ASCII\rNTE|1||a\\XE9\\b\r', 'latin1'));
    assert.equal(a.get('NTE-3'), 'a\\XE9\\b');
  });
});
