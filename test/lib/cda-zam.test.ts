// The business acknowledgements ZAM^Z01 / Z02 / Z03 of the volet "Transmission de documents CDA en HL7 v2"
// 2.1 (../shared/specs/volet-transmission-cda-hl7v2/profils-messages.md, "Description des messages HL7
// d'accusés métier"; ack-metier-zam.md; error-codes.md) and their technical ACK. The ANS publishes no ZAM
// example for 2.1 (grep -rl "ZAM^Z0" ../shared/specs finds only the volet's pages): the PFI is played by
// buildZam, and broken messages are written from its output.
import assert from 'node:assert/strict';
import { CdaBuildError } from '../../lib/cda/errors';
import {
  ACK_METIER_SYSTEM_ACCENTED,
  APPLICATION_ERROR_CODE,
  MESSAGE_CHARSETS,
  SMTP_ERROR_CODE,
  ZAM_EVENTS,
  type ZamEvent,
} from '../../lib/cda/volet';
import { buildZam, readZam, zamAck, ZamError, type ZamErrorCode, type ZamInput, type ZamReading } from '../../lib/cda/zam';
import { decodeMessageBytes, encodeHl7, parseAck, parseHl7 } from '../../lib/hl7';

const NOW = new Date('2026-03-02T09:15:30Z'); // 10:15:30 in Paris (UTC+1)
const HL7 = { sendingApplication: 'PFI', sendingFacility: 'CHU_X', receivingApplication: 'DPI', receivingFacility: 'CHU_X' };

function zam(over: Partial<ZamInput> & { event: ZamEvent }): string {
  return buildZam({ ok: true, messageControlId: 'MDM0042', controlId: 'ZAM0001', now: NOW, hl7: HL7, ...over });
}

const Z02: ZamInput = { event: 'Z02', ok: true, messageControlId: 'MDM0042', party: { address: 'adam.hoda@medecin.mssante.fr', id: '801234567897' } };

/** The segments of a message, one per line. */
function lines(msg: string): string[] {
  return msg.split('\r').filter(Boolean);
}

/** A message with segment `name` (its n-th occurrence) rewritten, or removed when `to` is null. */
function edit(msg: string, name: string, to: (fields: string[]) => string[] | null, occurrence = 1): string {
  let seen = 0;
  const out: string[] = [];
  for (const line of lines(msg)) {
    if (line.startsWith(`${name}|`) && ++seen === occurrence) {
      const f = to(line.split('|'));
      if (f) out.push(f.join('|'));
    } else out.push(line);
  }
  assert.equal(seen >= occurrence, true, `${name}[${occurrence}] not found`);
  return out.join('\r') + '\r';
}

function setField(n: number, value: string): (fields: string[]) => string[] {
  // MSH: fields[0] is "MSH", fields[1] MSH-2; other segments: fields[n] is field n
  return (f) => {
    const g = [...f];
    const at = g[0] === 'MSH' ? n - 1 : n;
    while (g.length <= at) g.push('');
    g[at] = value;
    return g;
  };
}

function refused(input: string | Buffer, code: ZamErrorCode, hl7Code: string, location?: string): ZamError {
  let caught: unknown;
  try {
    readZam(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ZamError, `expected ZamError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.ack.code, 'AE');
  assert.equal(caught.ack.hl7Code, hl7Code);
  assert.equal(caught.ack.location, location);
  return caught;
}

describe('lib/cda ZAM business acknowledgements (volet Transmission CDA en HL7 v2 2.1)', () => {
  describe('buildZam writes the layout of profils-messages.md', () => {
    it('"Contraintes ZAM^Z01": MSH-9 ZAM^Z01^ZAM_Z01, MSH-12 2.6, MSH-17 FRA, MSH-18, MSH-21 2.1^CISIS_CDA_HL7_V2; EVN-2 (Figure 20); OBX 1 CWE ACK_RECEPTION_DMP, OBX-4 the MDM, Y^^expandedYes-NoIndicator, F', () => {
      const msg = zam({ event: 'Z01', eventTime: '2026-03-02T10:14:00+01:00' });
      assert.deepEqual(lines(msg), [
        'MSH|^~\\&|PFI|CHU_X|DPI|CHU_X|20260302101530+0100||ZAM^Z01^ZAM_Z01|ZAM0001|P|2.6|||||FRA|UNICODE UTF-8|||2.1^CISIS_CDA_HL7_V2',
        'EVN||20260302101400+0100',
        'OBX|1|CWE|ACK_RECEPTION_DMP^Accusé de réception DMP^AckMetierZAM|MDM0042|Y^^expandedYes-NoIndicator||||||F',
      ]);
    });

    it('"Contraintes ZAM^Z02": OBX 2 XTN DESTINATAIRE_MSS^…^AckMetierZAM (table ack-metier-zam.md, not the Z02 table\'s "AckMétierZAM"), OBX-4 the recipient, ^^X.400^address; ERR 207^Application error^messageErrorCondition, code^label^SMTPERRORCODE', () => {
      const msg = buildZam({ ...Z02, ok: false, error: { code: '550' }, controlId: 'ZAM0002', now: NOW, hl7: HL7 });
      const l = lines(msg);
      assert.equal(l.length, 5);
      assert.match(l[0], /\|ZAM\^Z02\^ZAM_Z01\|ZAM0002\|P\|2\.6\|/);
      assert.equal(l[2], 'OBX|1|CWE|ACK_RECEPTION_MSS^Accusé de réception MSSanté^AckMetierZAM|MDM0042|N^^expandedYes-NoIndicator||||||F');
      assert.equal(l[3], 'OBX|2|XTN|DESTINATAIRE_MSS^Destinataire MSSanté^AckMetierZAM|801234567897|^^X.400^adam.hoda@medecin.mssante.fr||||||F');
      assert.equal(l[4], `ERR|||207^Application error^messageErrorCondition|E|550^${SMTP_ERROR_CODE['550']}^SMTPERRORCODE`);
    });

    it('"Contraintes ZAM^Z03": OBX 2 XTN LECTEUR_MSS^Lecteur du courriel MSSanté^AckMetierZAM; ERR-5 in applicationErrorCondition as the Z03 table writes it', () => {
      const msg = zam({ event: 'Z03', ok: false, party: { address: 'serviceY_auto@chb.mssante.fr' }, error: { code: '902' } });
      const l = lines(msg);
      assert.equal(l[1].startsWith('EVN||20260302101530+0100'), true);
      assert.equal(l[2], 'OBX|1|CWE|ACK_LECTURE_MSS^Accusé de lecture^AckMetierZAM|MDM0042|N^^expandedYes-NoIndicator||||||F');
      assert.equal(l[3], 'OBX|2|XTN|LECTEUR_MSS^Lecteur du courriel MSSanté^AckMetierZAM||^^X.400^serviceY_auto@chb.mssante.fr||||||F');
      assert.equal(l[4], `ERR|||207^Application error^messageErrorCondition|E|902^${APPLICATION_ERROR_CODE['902']}^applicationErrorCondition`);
    });

    it('refuses what the volet does not allow: an unknown event, Z02 / Z03 without address, an N status without its ERR, no control id, a charset not in MSH-18', () => {
      const fails = (input: ZamInput, field: string) =>
        assert.throws(
          () => buildZam(input),
          (e: unknown) => e instanceof CdaBuildError && e.field === field,
        );
      fails({ event: 'Z04' as ZamEvent, ok: true, messageControlId: 'M' }, 'event');
      fails({ event: 'Z02', ok: true, messageControlId: 'M' }, 'party.address');
      fails({ event: 'Z03', ok: true, messageControlId: 'M', party: { address: ' ' } }, 'party.address');
      fails({ event: 'Z01', ok: false, messageControlId: 'M' }, 'error.code');
      fails({ event: 'Z01', ok: true, messageControlId: '' }, 'messageControlId');
      fails({ event: 'Z01', ok: true, messageControlId: 'M', hl7: { charset: '8859/1' as '8859/15' } }, 'hl7.charset');
      assert.deepEqual(MESSAGE_CHARSETS, ['UNICODE UTF-8', '8859/15']);
    });
  });

  describe('readZam: buildZam → readZam round trips', () => {
    it('Z01 Y: the DMP received the document of MDM0042', () => {
      const r = readZam(zam({ event: 'Z01', eventTime: '2026-03-02T10:14:00+01:00' }));
      assert.equal(r.event, 'Z01');
      assert.equal(r.step, 'dmp-received');
      assert.equal(r.ok, true);
      assert.equal(r.messageControlId, 'MDM0042');
      assert.equal(r.party, null);
      assert.deepEqual(r.errors, []);
      assert.equal(r.eventTime, '2026-03-02T10:14:00+01:00');
      assert.deepEqual(r.hl7, {
        sendingApplication: 'PFI',
        sendingFacility: 'CHU_X',
        receivingApplication: 'DPI',
        receivingFacility: 'CHU_X',
        sender: 'PFI/CHU_X',
        controlId: 'ZAM0001',
        dateTime: '2026-03-02T10:15:30+01:00',
        processingId: 'P',
        version: '2.6',
        countryCode: 'FRA',
        charset: 'UNICODE UTF-8',
      });
      assert.deepEqual(r.profile, { version: '2.1', namespace: 'CISIS_CDA_HL7_V2' });
      assert.deepEqual(r.warnings, []);
    });

    it('Z01 N with a DMP error: ERR-3 207, ERR-4 E, ERR-5 code^libellé^DMP_ERROR_CODE, ERR-8', () => {
      // DMPClosed^DMP fermé: the code of the ANS's V2.0 example (ansforge/hl7V2-exemples, "acquittement réception DMP");
      // the DMP's codes (annex A7-1 of "Service DMP intégré aux LPS") are not published with the volet
      const r = readZam(zam({ event: 'Z01', ok: false, error: { code: 'DMPClosed', text: 'DMP fermé', message: 'Le DMP du patient est fermé' } }));
      assert.equal(r.ok, false);
      assert.equal(r.step, 'dmp-received');
      assert.deepEqual(r.errors, [
        {
          code: '207',
          label: 'Application error',
          table: 'messageErrorCondition',
          severity: 'E',
          application: { code: 'DMPClosed', text: 'DMP fermé', system: 'DMP_ERROR_CODE' },
          text: 'Le DMP du patient est fermé',
          location: 'ERR^1',
        },
      ]);
      assert.deepEqual(r.warnings, []);
    });

    it('Z02 N: the recipient (OBX-4, OBX-5.4) and the SMTP error of table SMTPERRORCODE (error-codes.md)', () => {
      const r = readZam(buildZam({ ...Z02, ok: false, error: { code: '552', severity: 'F' }, now: NOW, hl7: HL7 }));
      assert.equal(r.step, 'mssante-received');
      assert.equal(r.ok, false);
      assert.deepEqual(r.party, { role: 'DESTINATAIRE_MSS', address: 'adam.hoda@medecin.mssante.fr', id: '801234567897', location: 'OBX^2' });
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].severity, 'F');
      assert.deepEqual(r.errors[0].application, { code: '552', text: SMTP_ERROR_CODE['552'], system: 'SMTPERRORCODE' });
      assert.deepEqual(r.warnings, []);
    });

    it('Z03 Y: the mailbox that read the mail, and the professional\'s id when given', () => {
      const r = readZam(zam({ event: 'Z03', party: { address: 'adam.hoda@medecin.mssante.fr', id: '801234567897' } }));
      assert.equal(r.event, 'Z03');
      assert.equal(r.step, 'mssante-read');
      assert.equal(r.ok, true);
      assert.deepEqual(r.party, { role: 'LECTEUR_MSS', address: 'adam.hoda@medecin.mssante.fr', id: '801234567897', location: 'OBX^2' });
      assert.deepEqual(r.warnings, []);
    });

    it('Z03 N: ERR-5 902 of the 900–906 table (error-codes.md, "Codes erreurs de l\'accusé métier de lecture/traitement")', () => {
      const r = readZam(zam({ event: 'Z03', ok: false, party: { address: 'serviceY_auto@chb.mssante.fr' }, error: { code: '902' } }));
      assert.equal(r.party?.id, '');
      assert.deepEqual(r.errors[0].application, { code: '902', text: 'Identifiant patient inconnu', system: 'applicationErrorCondition' });
      assert.deepEqual(r.warnings, []);
    });

    it('each event maps to its step of ZAM_EVENTS', () => {
      for (const event of Object.keys(ZAM_EVENTS) as ZamEvent[]) {
        const r = readZam(zam({ event, party: { address: 'a@b.mssante.fr' } }));
        assert.equal(r.step, ZAM_EVENTS[event].journey);
      }
    });

    it('reads a parsed message as well', () => {
      const r = readZam(parseHl7(zam({ event: 'Z01' })));
      assert.equal(r.messageControlId, 'MDM0042');
    });
  });

  describe('readZam: what the volet asks without changing what the message reports is a warning', () => {
    it('"Segment ERR … Requis si le champ 5 du premier OBX prend la valeur N": an N without ERR is read, with a warning', () => {
      const msg = edit(zam({ event: 'Z02', ok: false, party: Z02.party, error: { code: '550' } }), 'ERR', () => null);
      const r = readZam(msg);
      assert.equal(r.ok, false);
      assert.deepEqual(r.errors, []);
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0], /N without ERR/);
    });

    it('OBX-3.3 "AckMétierZAM" as the Z02 table writes it for DESTINATAIRE_MSS is read without warning; another system is a warning', () => {
      const msg = zam({ event: 'Z02', party: Z02.party });
      const accented = edit(msg, 'OBX', setField(3, `DESTINATAIRE_MSS^Destinataire MSSanté^${ACK_METIER_SYSTEM_ACCENTED}`), 2);
      assert.deepEqual(readZam(accented).warnings, []);
      const other = edit(msg, 'OBX', setField(3, 'ACK_RECEPTION_MSS^Accusé de réception MSSanté^HL7'), 1);
      const r = readZam(other);
      assert.equal(r.ok, true);
      assert.deepEqual(r.warnings, ['OBX^1^3^1^3 is "HL7": AckMetierZAM expected']);
    });

    it('Figure 20: EVN [1..1]; MSH-21 of another volet version; OBX-11 other than F: read, with warnings', () => {
      let msg = edit(zam({ event: 'Z01' }), 'EVN', () => null);
      msg = edit(msg, 'MSH', setField(21, '2.0^CISIS_CDA_HL7_V2'));
      msg = edit(msg, 'OBX', setField(11, 'C'));
      const r = readZam(msg);
      assert.equal(r.ok, true);
      assert.equal(r.eventTime, '');
      assert.deepEqual(r.profile, { version: '2.0', namespace: 'CISIS_CDA_HL7_V2' });
      assert.equal(r.warnings.length, 3);
      assert.ok(r.warnings.some((w) => /EVN/.test(w)));
      assert.ok(r.warnings.some((w) => /MSH-21/.test(w)));
      assert.ok(r.warnings.some((w) => /OBX\^1\^11/.test(w)));
    });

    it('an ERR-5 system that is not the event\'s (Z02: SMTPERRORCODE) is a warning', () => {
      const r = readZam(zam({ event: 'Z02', ok: false, party: Z02.party, error: { code: '902', text: 'Identifiant patient inconnu', system: 'applicationErrorCode' } }));
      assert.equal(r.errors[0].application?.system, 'applicationErrorCode');
      assert.deepEqual(r.warnings, ['ERR^1^5^1^3 is "applicationErrorCode": a ZAM^Z02 codes its errors in SMTPERRORCODE']);
    });
  });

  describe('readZam refuses what is not a ZAM the volet defines (error-codes.md, table messageErrorCondition)', () => {
    const good = zam({ event: 'Z02', party: Z02.party });

    it('NOT_HL7: not HL7 (100), a truncated header (101), an MSH-18 the codec cannot read (103)', () => {
      const e = refused('hello', 'NOT_HL7', '100', undefined);
      assert.equal(e.header, null);
      refused('MSH|^~\\&|PFI|CHU_X|DPI|CHU_X|20260302101530', 'NOT_HL7', '101', 'MSH');
      const bytes = Buffer.from(edit(good, 'MSH', setField(18, 'KLINGON')), 'utf8');
      const c = refused(bytes, 'NOT_HL7', '103', 'MSH^1^18');
      assert.equal(c.header?.controlId, 'ZAM0001');
    });

    it('NOT_ZAM: another message type is 200 Unsupported message type at MSH-9.1', () => {
      const e = refused(edit(good, 'MSH', setField(9, 'ADT^A01^ADT_A01')), 'NOT_ZAM', '200', 'MSH^1^9^1^1');
      assert.equal(e.header?.controlId, 'ZAM0001');
    });

    it('UNSUPPORTED_EVENT: ZAM^Z04 is 201 Unsupported event code at MSH-9.2', () => {
      refused(edit(good, 'MSH', setField(9, 'ZAM^Z04^ZAM_Z01')), 'UNSUPPORTED_EVENT', '201', 'MSH^1^9^1^2');
    });

    it('UNSUPPORTED_VERSION: MSH-12.1 other than 2.6 is 203 Unsupported version at MSH-12 (the volet\'s ACK example)', () => {
      refused(edit(good, 'MSH', setField(12, '2.5')), 'UNSUPPORTED_VERSION', '203', 'MSH^1^12');
    });

    it('MISSING_STATUS: no OBX is 100 Segment sequence error; an empty OBX-5 is 101 Required field missing', () => {
      const none = edit(edit(good, 'OBX', () => null, 2), 'OBX', () => null, 1);
      refused(none, 'MISSING_STATUS', '100', 'OBX^1');
      refused(edit(good, 'OBX', setField(5, '')), 'MISSING_STATUS', '101', 'OBX^1^5^1^1');
    });

    it('BAD_STATUS: OBX-5.1 neither Y nor N (HL7 table 0136) is 103 Table value not found', () => {
      refused(edit(good, 'OBX', setField(5, 'OK^^expandedYes-NoIndicator')), 'BAD_STATUS', '103', 'OBX^1^5^1^1');
      refused(edit(good, 'OBX', setField(5, 'y^^expandedYes-NoIndicator')), 'BAD_STATUS', '103', 'OBX^1^5^1^1');
    });

    it('BAD_OBSERVATION: an OBX-3 of another event where the status or the party is expected is 103', () => {
      refused(edit(good, 'OBX', setField(3, 'ACK_RECEPTION_DMP^Accusé de réception DMP^AckMetierZAM')), 'BAD_OBSERVATION', '103', 'OBX^1^3^1^1');
      refused(edit(good, 'OBX', setField(3, 'LECTEUR_MSS^Lecteur du courriel MSSanté^AckMetierZAM'), 2), 'BAD_OBSERVATION', '103', 'OBX^2^3^1^1');
    });

    it('MISSING_CONTROL_ID: an empty OBX-4 of the status (the MDM / ORU acknowledged) is 101', () => {
      refused(edit(good, 'OBX', setField(4, '')), 'MISSING_CONTROL_ID', '101', 'OBX^1^4');
    });

    it('MISSING_PARTY: a Z02 / Z03 without its second OBX is 100; without the address OBX-5.4 is 101', () => {
      refused(edit(good, 'OBX', () => null, 2), 'MISSING_PARTY', '100', 'OBX^2');
      refused(edit(good, 'OBX', setField(5, '^^X.400'), 2), 'MISSING_PARTY', '101', 'OBX^2^5^1^4');
      const z03 = zam({ event: 'Z03', party: { address: 'a@b.mssante.fr' } });
      refused(edit(z03, 'OBX', () => null, 2), 'MISSING_PARTY', '100', 'OBX^2');
    });
  });

  describe('zamAck: "Message d\'acquittement technique des accusés métiers"', () => {
    for (const event of Object.keys(ZAM_EVENTS) as ZamEvent[]) {
      it(`ZAM^${event} Y: MSH-9 ACK^${event}^ACK, MSH-12 2.6, MSH-17 FRA, MSH-3…6 swapped, MSA AA with MSA-2 the ZAM's MSH-10`, () => {
        const r = readZam(zam({ event, party: { address: 'a@b.mssante.fr' } }));
        const ack = parseHl7(zamAck(r, undefined, { controlId: 'ACK0001' }));
        assert.equal(ack.get('MSH-9'), 'ACK');
        assert.equal(ack.get('MSH-9.2'), event);
        assert.equal(ack.get('MSH-9.3'), 'ACK');
        assert.equal(ack.get('MSH-10'), 'ACK0001');
        assert.equal(ack.get('MSH-12'), '2.6');
        assert.equal(ack.get('MSH-17'), 'FRA');
        assert.equal(ack.get('MSH-18'), 'UNICODE UTF-8');
        assert.deepEqual([ack.get('MSH-3'), ack.get('MSH-4'), ack.get('MSH-5'), ack.get('MSH-6')], ['DPI', 'CHU_X', 'PFI', 'CHU_X']);
        assert.equal(ack.get('MSA-1'), 'AA');
        assert.equal(ack.get('MSA-2'), 'ZAM0001');
        assert.equal(ack.segment('ERR'), undefined);
      });
    }

    it('a ZAM with an N status is still acknowledged AA: the message is taken in charge, the error is the DMP\'s', () => {
      const r = readZam(zam({ event: 'Z01', ok: false, error: { code: 'DMPClosed', text: 'DMP fermé' } }));
      assert.equal(parseAck(zamAck(r)).code, 'AA');
    });

    it('a refusal: MSA AE, ERR-2 the location, ERR-3 code^label^messageErrorCondition, ERR-4 E, ERR-8 the reason', () => {
      const msg = edit(zam({ event: 'Z02', party: Z02.party }), 'OBX', setField(5, 'X^^expandedYes-NoIndicator'));
      let err: unknown;
      try {
        readZam(msg);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ZamError);
      const text = zamAck(null, err);
      const ack = parseHl7(text);
      assert.equal(ack.get('MSH-9.2'), 'Z02');
      assert.equal(ack.get('MSH-17'), 'FRA');
      assert.equal(ack.get('MSA-1'), 'AE');
      assert.equal(ack.get('MSA-2'), 'ZAM0001');
      const err1 = ack.segment('ERR');
      assert.ok(err1);
      assert.deepEqual([err1.value(2, 1, 1), err1.value(2, 1, 2), err1.value(2, 1, 3), err1.value(2, 1, 4), err1.value(2, 1, 5)], ['OBX', '1', '5', '1', '1']);
      assert.deepEqual([err1.value(3, 1, 1), err1.value(3, 1, 2), err1.value(3, 1, 3)], ['103', 'Table value not found', 'messageErrorCondition']);
      assert.equal(err1.value(4), 'E');
      assert.match(err1.value(8), /Y or N expected/);
      assert.ok(ack.get('MSA-3').length <= 80);
    });

    it('an unsupported event is answered ACK^Z04^ACK AE 201 at MSH^1^9^1^2', () => {
      let err: unknown;
      try {
        readZam(edit(zam({ event: 'Z01' }), 'MSH', setField(9, 'ZAM^Z04^ZAM_Z01')));
      } catch (e) {
        err = e;
      }
      const ack = parseAck(zamAck(undefined, err));
      assert.equal(ack.code, 'AE');
      assert.equal(ack.controlId, 'ZAM0001');
      assert.deepEqual(
        ack.errors.map((e) => [e.code, e.location]),
        [['201', 'MSH^1^9^1^2']],
      );
    });

    it('input with no readable header still gets an ACK (buildSafeAck), MSA-2 empty', () => {
      let err: unknown;
      try {
        readZam('not a message');
      } catch (e) {
        err = e;
      }
      const ack = parseAck(zamAck(null, err));
      assert.equal(ack.code, 'AE');
      assert.equal(ack.controlId, '');
      assert.equal(ack.errors[0].code, '100');
    });

    it('an error of the DPI (not of the message) is AR 207: "rejeté pour une raison circonstancielle, il peut être réémis plus tard"', () => {
      const r = readZam(zam({ event: 'Z01' }));
      const ack = parseAck(zamAck(r, new Error('database unavailable')));
      assert.equal(ack.code, 'AR');
      assert.equal(ack.errors[0].code, '207');
      assert.equal(ack.controlId, 'ZAM0001');
    });
  });

  describe('bytes in the character sets of MSH-18 ("UNICODE UTF-8 ou 8859/15")', () => {
    const error = { code: 'DMPClosed', text: 'DMP fermé', message: 'Sœur du patient : opposition, coût 0 €' };

    it('UTF-8: accents of OBX-3.2 and ERR-5 / ERR-8 read back', () => {
      const bytes = encodeHl7(zam({ event: 'Z01', ok: false, error }));
      assert.ok(bytes.includes(Buffer.from('réception', 'utf8')));
      const r = readZam(bytes);
      assert.equal(r.hl7.charset, 'UNICODE UTF-8');
      assert.equal(r.errors[0].application?.text, 'DMP fermé');
      assert.equal(r.errors[0].text, error.message);
      assert.equal(r.message.segment('OBX')?.value(3, 1, 2), 'Accusé de réception DMP');
    });

    it('ISO 8859-15: "8859/15" decoded by lib/hl7/charset, œ and € at their 8859-15 bytes (0xBD, 0xA4)', () => {
      const bytes = encodeHl7(zam({ event: 'Z01', ok: false, error, hl7: { ...HL7, charset: '8859/15' } }));
      assert.equal(decodeMessageBytes(bytes).encoding, 'latin9');
      assert.ok(bytes.includes(Buffer.from([0x53, 0xbd, 0x75, 0x72]))); // "Sœur"
      assert.ok(bytes.includes(Buffer.from([0x30, 0x20, 0xa4]))); // "0 €"
      assert.ok(bytes.includes(Buffer.from([0x72, 0xe9, 0x63]))); // "réc"
      const r: ZamReading = readZam(bytes);
      assert.equal(r.hl7.charset, '8859/15');
      assert.equal(r.errors[0].text, error.message);
      assert.equal(r.errors[0].application?.text, 'DMP fermé');
      assert.deepEqual(r.warnings, []);
      // the ACK declares the ZAM's MSH-18 and encodes in it
      const ack = zamAck(r);
      assert.match(ack, /\|FRA\|8859\/15\r/);
      assert.doesNotThrow(() => encodeHl7(ack));
    });
  });
});
