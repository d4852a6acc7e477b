import assert from 'node:assert/strict';
import { buildAck, encodeHl7, parseAck, parseHl7 } from '../../lib/hl7';
import { readAdtPayload, type AdtReading } from '../../lib/ins';
import { adtBytes, adtMessage, MARIE_NIR, withWrongKey } from '../fixtures/adt';

function issues(r: AdtReading): string[] {
  return r.issues.map((i) => `${i.severity}${i.code}@${i.location}`);
}

const ACCENTED = {
  birthName: 'LEFÈVRE',
  firstName: 'Hélène',
  firstNames: 'Hélène Françoise Zoé',
  usedName: 'DUPRÉ-NOËL',
} as const;

describe('lib/ins readAdtPayload', () => {
  describe('text and bytes', () => {
    it('reads a string', () => {
      const r = readAdtPayload(adtMessage());
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.ins?.value, MARIE_NIR);
    });

    it('reads LF and CRLF segment terminators', () => {
      assert.equal(readAdtPayload(adtMessage({ terminator: '\n' })).ack, 'AA');
      assert.equal(readAdtPayload(adtMessage({ terminator: '\r\n' })).ack, 'AA');
    });

    it('reads a Latin-1 Buffer declared 8859/1, accents included', () => {
      const buf = adtBytes({ charset: '8859/1', pid: ACCENTED });
      assert.ok(buf.includes(Buffer.from([0xc8])), 'È is one Latin-1 byte');
      const r = readAdtPayload(buf);
      assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
      assert.equal(r.patient?.birthName, 'LEFÈVRE');
      assert.equal(r.patient?.firstName, 'Hélène');
      assert.equal(r.patient?.firstNames, 'Hélène Françoise Zoé');
      assert.equal(r.patient?.usedName, 'DUPRÉ-NOËL');
      assert.equal(r.patient?.usedFirstName, 'Hélène');
      assert.equal(r.patient?.qualified, true);
    });

    it('reads Latin-1 bytes without MSH-18 (not valid UTF-8: read as Latin-1)', () => {
      const r = readAdtPayload(adtBytes({ charset: '', pid: ACCENTED }));
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.birthName, 'LEFÈVRE');
      assert.equal(r.patient?.firstNames, 'Hélène Françoise Zoé');
    });

    it('reads UTF-8 and 8859/15 (Œ)', () => {
      const utf8 = readAdtPayload(adtBytes({ charset: 'UNICODE UTF-8', pid: ACCENTED }));
      assert.equal(utf8.patient?.usedName, 'DUPRÉ-NOËL');
      const latin9 = readAdtPayload(encodeHl7(adtMessage({ charset: '8859/15', pid: { birthName: 'CŒUR', firstName: 'Éloïse', firstNames: 'Éloïse' } })));
      assert.equal(latin9.ack, 'AA');
      assert.equal(latin9.patient?.birthName, 'CŒUR');
    });

    it('decodes \\X..\\ escapes and \\S\\ in names', () => {
      const r = readAdtPayload(adtMessage({ pid: { rawNames: 'L\\XC9\\VY^Ana\\S\\s^Ana\\S\\s^^^^L' } }));
      assert.equal(r.patient?.birthName, 'LÉVY');
      assert.equal(r.patient?.firstName, 'Ana^s');
    });
  });

  describe('bad input (AR, naming what is wrong)', () => {
    const cases: [string, string | Buffer, string, string, RegExp][] = [
      ['an empty string', '', '100', 'MSH^1', /empty/],
      ['an empty Buffer', Buffer.alloc(0), '100', 'MSH^1', /empty/],
      ['text that is not HL7', 'bonjour', '100', 'MSH^1', /not an HL7 v2 message: it starts with "bon"/],
      ['XML', '<ClinicalDocument xmlns="urn:hl7-org:v3"/>', '100', 'MSH^1', /MSH/],
      ['JSON', '{"resourceType":"Patient"}', '100', 'MSH^1', /not an HL7 v2 message/],
      ['a header cut inside MSH-2', 'MSH|^', '102', 'MSH^1^2', /MSH-2/],
      ['a header truncated before MSH-9', 'MSH|^~\\&|GAM|CHU-X|DPI', '101', 'MSH^1^9', /MSH-9 .*truncated/],
      ['a header without MSH-12', 'MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20261123||ADT^A28^ADT_A05|MSG9|P\rEVN||20261123\r', '101', 'MSH^1^12', /MSH-12/],
      ['a line that is not a segment', adtMessage().replace('\rPD1', '\r<garbage>\rPD1'), '100', '', /segment 4 does not start with a segment id/],
      ['an unsupported character set', Buffer.from(adtMessage({ charset: 'ISO IR87' }), 'latin1'), '103', 'MSH^1^18', /ISO IR87/],
    ];
    for (const [what, input, code, location, re] of cases) {
      it(what, () => {
        const r = readAdtPayload(input);
        assert.equal(r.ack, 'AR');
        assert.equal(r.issues.length, 1);
        assert.equal(r.issues[0].code, code);
        assert.equal(r.issues[0].location, location);
        assert.equal(r.issues[0].severity, 'E');
        assert.match(r.issues[0].text, re);
        assert.equal(r.patient, null);
        assert.equal(r.action, 'none');
      });
    }

    it('bytes not valid in the declared character set: AE 102 at MSH^1^18 naming the byte, never U+FFFD (issue 11)', () => {
      const latin1 = Buffer.from(adtMessage({ charset: 'UNICODE UTF-8', pid: { birthName: 'BÉRANGER' } }), 'latin1');
      const r = readAdtPayload(latin1);
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E102@MSH^1^18']);
      assert.match(r.issues[0].text, /UNICODE UTF-8/);
      assert.match(r.issues[0].text, /PID\^1\^5/, 'where the first bad byte lies');
      assert.equal(r.patient, null, 'nothing stored as B\uFFFDRANGER');
      assert.equal(r.controlId, 'MSG0001');
      assert.equal(readAdtPayload(Buffer.from(adtMessage({ charset: 'UNICODE UTF-8', pid: { birthName: 'BÉRANGER' } }), 'utf8')).ack, 'AA');
    });

    it('an unsupported character set keeps the header (a string is already decoded: MSH-18 does not matter)', () => {
      const r = readAdtPayload(Buffer.from(adtMessage({ charset: 'ISO IR87' }), 'latin1'));
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E103@MSH^1^18']);
      assert.equal(r.controlId, 'MSG0001', 'the header is still read');
      assert.equal(r.sender, 'GAM/CHU-X');
      assert.equal(readAdtPayload(adtMessage({ charset: 'ISO IR87' })).ack, 'AA');
    });

    it('keeps what the header says when it is readable', () => {
      const r = readAdtPayload('MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20261123101500+0100||ADT^A28^ADT_A05|MSG9|P\r');
      assert.equal(r.controlId, 'MSG9');
      assert.equal(r.event, 'A28');
      assert.equal(r.sender, 'GAM/CHU-X');
      assert.equal(r.eventTime, '2026-11-23T10:15:00+01:00');
      const cut = readAdtPayload('MSH|^~\\&|GAM|CHU-X|DPI');
      assert.equal(cut.sender, 'GAM/CHU-X');
      assert.equal(cut.controlId, '');
    });

    it('is not thrown off by null or objects', () => {
      for (const v of [null, undefined, 42, { payload: 'x' }]) {
        const r = readAdtPayload(v as unknown as string);
        assert.equal(r.ack, 'AR');
        assert.equal(r.issues[0].code, '100');
        assert.match(r.issues[0].text, /not an HL7 v2 message/);
      }
    });

    it('a message cut right after EVN: no PID (AR 100)', () => {
      const text = adtMessage();
      const r = readAdtPayload(text.slice(0, text.indexOf('PID|')));
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E100@PID^1']);
    });

    it('a message cut inside PID: integrated as far as it goes, without status and so without its INS (warnings)', () => {
      const text = adtMessage();
      const r = readAdtPayload(text.slice(0, text.indexOf('|F|') + 3));
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W101@PID^1^32', 'W103@PID^1^32']);
      assert.equal(r.patient?.birthName, 'MARTIN');
      assert.equal(r.patient?.status, '');
      assert.equal(r.patient?.ins, null);
    });

    it('a message cut inside the INS: the partial repetition has no type and is not read', () => {
      const text = adtMessage();
      const r = readAdtPayload(text.slice(0, text.indexOf(MARIE_NIR) + 10));
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W101@PID^1^32']);
      assert.equal(r.patient?.ipp.id, '123456');
      assert.equal(r.patient?.ins, null);
      assert.equal(r.insSetAside, undefined);
    });

    it('a non-ADT message: AR 200 with its control id', () => {
      const r = readAdtPayload('MSH|^~\\&|LABO|CHU-X|DPI|CHU-X|20261123101500+0100||ORU^R01^ORU_R01|ORU1|P|2.5\rPID|1||123456^^^CHU-X&1.2.250.1.999.1.1&ISO^PI\r');
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E200@MSH^1^9']);
      assert.equal(r.controlId, 'ORU1');
      assert.equal(r.sender, 'LABO/CHU-X');
    });

    it('an unsupported version: AR 203', () => {
      const r = readAdtPayload(adtMessage({ version: '2.3.1' }));
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E203@MSH^1^12']);
    });

    it('wrong segment order: AE 100', () => {
      const r = readAdtPayload(adtMessage({ event: 'A40', mutate: (s) => [s[0], s[1], s[4], s[2], s[3]] }));
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E100@MRG^1']);
    });

    it('applies the options', () => {
      const r = readAdtPayload(adtMessage({ version: '2.4', evnOccurred: '20261123101000' }), { supportedVersions: ['2.4'], timeZone: 'Pacific/Noumea' });
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.qualified, true);
      assert.equal(r.eventMs, Date.parse('2026-11-23T10:10:00+11:00'));
    });
  });

  describe('the reading makes the ACK', () => {
    it('AE with ERR segments, read back by parseAck', () => {
      const input = adtMessage({ pid: { ins: withWrongKey('2850569123456'), sex: 'X' } });
      const r = readAdtPayload(input);
      assert.equal(r.ack, 'AE');
      const ack = buildAck(parseHl7(input), { code: r.ack, errors: r.issues });
      const back = parseAck(ack);
      assert.equal(back.code, 'AE');
      assert.equal(back.controlId, 'MSG0001');
      assert.deepEqual(
        back.errors.map((e) => [e.code, e.location, e.severity]),
        [
          ['102', 'PID^1^3^2', 'W'],
          ['103', 'PID^1^8', 'E'],
        ],
      );
      assert.match(back.errors[0].text ?? '', /wrong key/);
    });

    it('AR from unparsable input can still be answered from the header', () => {
      const r = readAdtPayload(Buffer.from(adtMessage({ charset: 'ISO IR87' }), 'latin1'));
      const ack = buildAck(
        { fieldSeparator: '|', encodingCharacters: '^~\\&', sendingApplication: 'GAM', sendingFacility: 'CHU-X', receivingApplication: 'DPI', receivingFacility: 'CHU-X', dateTime: '', type: 'ADT', event: r.event, structure: '', controlId: r.controlId, processingId: 'P', version: '2.5', charset: '' },
        { code: r.ack, errors: r.issues },
      );
      const back = parseAck(ack);
      assert.equal(back.code, 'AR');
      assert.equal(back.controlId, 'MSG0001');
      assert.equal(back.errors[0].code, '103');
    });
  });
});
