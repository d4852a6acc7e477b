import assert from 'node:assert/strict';
import { parseHl7 } from '../../lib/hl7';
import { readAdt, type AdtOptions, type AdtReading } from '../../lib/ins';
import { adtMessage, MARIE_NIR, OID, withKey, withWrongKey, type AdtSpec } from '../fixtures/adt';
import { pamFrAdt } from '../fixtures/hl7';

/** Now for these tests: 30 November 2026, after every time the fixtures use. */
const NOW = Date.parse('2026-11-30T12:00:00+01:00');

function read(spec: AdtSpec = {}, opts?: AdtOptions): AdtReading {
  return readAdt(parseHl7(adtMessage(spec)), { now: NOW, ...opts });
}

/** Issues as "E102@PID^1^3^2" for compact comparisons. */
function issues(r: AdtReading): string[] {
  return r.issues.map((i) => `${i.severity}${i.code}@${i.location}`);
}

function issue(r: AdtReading, code: string, location: string) {
  const found = r.issues.find((i) => i.code === code && i.location === location);
  assert.ok(found, `expected issue ${code} at ${location}, got ${JSON.stringify(r.issues)}`);
  return found;
}

const IPP = { id: '123456', authority: 'CHU-X', oid: OID.IPP };

describe('lib/ins readAdt (IHE PAM FR ADT)', () => {
  describe('a qualified identity (A28)', () => {
    const r = read();

    it('is accepted without issues and asks for an update', () => {
      assert.equal(r.ack, 'AA');
      assert.deepEqual(r.issues, []);
      assert.equal(r.action, 'update');
      assert.equal(r.insSetAside, undefined);
      assert.equal(r.linked, undefined);
    });

    it('reads the header: event, control id, sender, event time', () => {
      assert.equal(r.event, 'A28');
      assert.equal(r.controlId, 'MSG0001');
      assert.equal(r.sender, 'GAM/CHU-X');
      assert.equal(r.eventTime, '2026-11-23T10:10:00+01:00');
    });

    it('reads the whole identity', () => {
      assert.deepEqual(r.patient, {
        ipp: IPP,
        ins: { value: MARIE_NIR, oid: OID.NIR, kind: 'NIR', environment: 'production', validFrom: null },
        status: 'VALI',
        attributes: [],
        qualified: true,
        birthName: 'MARTIN',
        firstNames: 'Marie Louise Anne',
        firstName: 'Marie',
        birthDate: '1985-05-12',
        sex: 'F',
        birthPlace: '69123',
        usedName: 'DURAND',
        usedFirstName: 'Marie',
        pseudonym: null,
        verification: null,
      });
    });
  });

  describe('trigger events (PAM FR 2.11.1 §2.1 ITI-30, §2.2 and §5.3.2 ITI-31)', () => {
    const updates = ['A28', 'A31', 'A01', 'A04', 'A05', 'A03', 'A11', 'A12', 'A13', 'A21', 'A22', 'A38', 'A52', 'A53', 'A54', 'A55', 'A06', 'A07', 'A02', 'A44', 'A49', 'A14', 'A27', 'A16', 'A25', 'A15', 'A26', 'A09', 'A10', 'A32', 'A33', 'Z99'];
    for (const event of updates) {
      it(`${event} updates the PID identity`, () => {
        const r = read({ event });
        assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
        assert.equal(r.event, event);
        assert.equal(r.action, 'update');
        assert.deepEqual(r.patient?.ipp, IPP);
        assert.equal(r.patient?.qualified, true);
        assert.equal(r.patient?.replaces, undefined);
      });
    }

    const notApplied: [string, RegExp][] = [
      ['A08', /A31 only \(§2\.2\)/],
      ['Z80', /CP-ITI-FR-2013-079/],
      ['Z89', /CP-ITI-FR-2013-079/],
      ['A29', /not an event of PAM FR/],
      ['A17', /not an event of PAM FR/],
      ['A60', /not an event of PAM FR/],
      ['Z01', /not an event of PAM FR/],
    ];
    for (const [event, why] of notApplied) {
      it(`answers ADT ${event} AA with nothing to record and a warning saying why`, () => {
        const r = read({ event });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W201@MSH^1^9']);
        assert.match(r.issues[0].text, why);
        assert.match(r.nothingToRecord ?? '', why);
        assert.equal(r.patient, null);
        assert.equal(r.action, 'none');
        assert.equal(r.event, event);
        assert.equal(r.controlId, 'MSG0001');
      });
    }

    for (const event of ['A1', 'B01', 'A001', 'X99']) {
      it(`rejects "${event}", not an ADT event code (AR 201)`, () => {
        const r = read({ event });
        assert.equal(r.ack, 'AR');
        assert.deepEqual(issues(r), ['E201@MSH^1^9']);
        assert.match(r.issues[0].text, /is not an ADT event code/);
        assert.equal(r.patient, null);
      });
    }

    it('rejects an ADT without trigger event (AR 201)', () => {
      const r = read({ mutate: (s) => [s[0].replace('ADT^A28^ADT_A05', 'ADT'), ...s.slice(1)] });
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E201@MSH^1^9']);
      assert.match(r.issues[0].text, /trigger event is empty/);
    });

    for (const [type, event] of [['ORU', 'R01'], ['ACK', 'A28'], ['SIU', 'S12'], ['ORM', 'O01']]) {
      it(`rejects ${type}^${event}: not ADT (AR 200)`, () => {
        const r = read({ type, event, structure: `${type}_${event}` });
        assert.equal(r.ack, 'AR');
        assert.deepEqual(issues(r), ['E200@MSH^1^9']);
        assert.match(r.issues[0].text, new RegExp(`message type ${type} is not supported: ADT is expected`));
        assert.equal(r.patient, null);
        assert.equal(r.action, 'none');
      });
    }
  });

  describe('HL7 version (MSH-12)', () => {
    it('accepts 2.5 and 2.5.1 by default', () => {
      assert.equal(read({ version: '2.5' }).ack, 'AA');
      assert.equal(read({ version: '2.5.1^FRA^2.11' }).ack, 'AA');
    });
    for (const version of ['2.3.1', '2.4', '2.6', '3.0', '2.5.2']) {
      it(`rejects "${version}" (AR 203)`, () => {
        const r = read({ version });
        assert.equal(r.ack, 'AR');
        assert.deepEqual(issues(r), ['E203@MSH^1^12']);
        assert.match(r.issues[0].text, /not supported \(supported: 2\.5, 2\.5\.1\)/);
        assert.equal(r.patient, null);
      });
    }
    it('follows supportedVersions', () => {
      assert.equal(read({ version: '2.4' }, { supportedVersions: ['2.4', '2.5'] }).ack, 'AA');
      const r = read({ version: '2.5.1' }, { supportedVersions: ['2.5'] });
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E203@MSH^1^12']);
    });
    it('reports a wrong type and a wrong version together', () => {
      const r = read({ type: 'ORU', event: 'R01', version: '2.3' });
      assert.deepEqual(issues(r), ['E200@MSH^1^9', 'E203@MSH^1^12']);
    });
  });

  describe('INS in PID-3', () => {
    const kinds: [string, string, string, string][] = [
      ['production INS-NIR', OID.NIR, 'NIR', 'production'],
      ['INS-NIA', OID.NIA, 'NIA', 'production'],
      ['test INS-NIR', OID.NIR_TEST, 'NIR', 'test'],
      ['demo INS-NIR', OID.NIR_DEMO, 'NIR', 'demo'],
    ];
    for (const [label, oid, kind, environment] of kinds) {
      it(`reads a ${label} (${oid})`, () => {
        const value = kind === 'NIA' ? withKey('2851299350012') : MARIE_NIR;
        const r = read({ processingId: environment === 'production' ? 'P' : 'T', pid: { ins: value, insOid: oid } });
        assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
        assert.deepEqual(r.issues, []);
        assert.deepEqual(r.patient?.ins, { value, oid, kind, environment, validFrom: null });
        assert.equal(r.patient?.qualified, true);
      });
    }

    for (const oid of [OID.NIR_TEST, OID.NIR_DEMO]) {
      it(`does not integrate a ${oid} INS in a production message (MSH-11 P): warning, identity recorded`, () => {
        const r = read({ processingId: 'P', pid: { insOid: oid } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.issues[0].text, /environment in a production message/);
        assert.equal(r.patient?.ins, null);
        assert.equal(r.patient?.qualified, false);
        assert.equal(r.action, 'update');
      });
    }

    it('accepts NIA numbers starting with 7 or 8 (waiting numbers)', () => {
      for (const first of ['7', '8', '3', '4']) {
        const value = withKey(`${first}851299350012`);
        const r = read({ pid: { ins: value, insOid: OID.NIA } });
        assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
        assert.equal(r.patient?.ins?.kind, 'NIA');
      }
    });

    it('does not integrate an INS-NIR whose sex digit is not 1 or 2 (W 102), the identity still recorded', () => {
      const r = read({ pid: { ins: withKey('7851299350012'), insOid: OID.NIR } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
      assert.match(r.issues[0].text, /first character \(sex\) "#" is not 1 or 2/);
      assert.equal(r.patient?.ins, null);
      assert.equal(r.action, 'update');
    });

    it('reads validFrom from the INS effective date (CX-7)', () => {
      const r = read({ pid: { insEffective: '20240115' } });
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.ins?.validFrom, '2024-01-15');
      const t = read({ pid: { insEffective: '20240115093000+0100' } });
      assert.equal(t.patient?.ins?.validFrom, '2024-01-15');
    });

    it('warns about an effective date that is not a date, keeping the INS', () => {
      const r = read({ pid: { insEffective: '20241399' } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
      assert.equal(r.patient?.ins?.value, MARIE_NIR);
      assert.equal(r.patient?.ins?.validFrom, null);
    });

    it('finds the INS whatever the order of the repetitions', () => {
      const r = read({ pid: { insFirst: true } });
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.ins?.value, MARIE_NIR);
      assert.deepEqual(r.patient?.ipp, IPP);
    });

    it('ignores the other identifier types (AN, VN, RRI…)', () => {
      const r = read({ pid: { extraIds: ['V123^^^CHU-X&1.2.250.1.999.1.2&ISO^AN', '998877^^^REG&1.2.250.1.999.2&ISO^RRI'] } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(r.issues, []);
    });

    it('reads an identity without INS (PROV) with no issue', () => {
      const r = read({ pid: { ins: null, status: ['PROV'] } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(r.issues, []);
      assert.equal(r.patient?.ins, null);
      assert.equal(r.insSetAside, undefined);
    });

    describe('a wrong key: the message is integrated without the INS (PAM FR §6.6.15), AA with W 102', () => {
      const bad = withWrongKey('2850569123456');
      const r = read({ pid: { ins: bad } });

      it('answers AA with a warning 102 at the repetition, without the INS value', () => {
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
        assert.equal(r.issues[0].text, 'INS-NIR not integrated: wrong key');
        assert.ok(!r.issues[0].text.includes(bad.slice(0, 13)));
      });
      it('does not keep the INS and says why', () => {
        assert.equal(r.patient?.ins, null);
        assert.equal(r.insSetAside, r.issues[0].text);
        assert.equal(r.patient?.qualified, false);
      });
      it('still reads the rest of the identity, status included, and asks for the update', () => {
        assert.equal(r.action, 'update');
        assert.deepEqual(r.patient?.ipp, IPP);
        assert.equal(r.patient?.status, 'VALI');
        assert.equal(r.patient?.birthName, 'MARTIN');
        assert.equal(r.patient?.birthDate, '1985-05-12');
      });
      it('locates the repetition when the INS comes first', () => {
        const first = read({ pid: { ins: bad, insFirst: true } });
        assert.deepEqual(issues(first), ['W102@PID^1^3^1']);
      });
    });

    const malformed: [string, string, RegExp][] = [
      ['too short', '28505691234', /11 characters instead of 15/],
      ['too long', MARIE_NIR + '0', /16 characters instead of 15/],
      ['with spaces', '2 850569123 456', /digits/],
      ['with letters', '2850569ABC45678', /digits/],
    ];
    for (const [what, value, re] of malformed) {
      it(`does not integrate a malformed INS (${what}): AA, W 102`, () => {
        const r = read({ pid: { ins: value } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
        assert.match(r.issues[0].text, re);
        assert.equal(r.patient?.ins, null);
        assert.match(r.insSetAside ?? '', re);
      });
    }

    describe('Corsica', () => {
      // a man born in January 1980 in Ajaccio (2A004), a woman born in July 1980 in Bastia (2B033)
      const ajaccio = withKey('180012A004123');
      const bastia = withKey('280072B033045');

      it('keeps INS with 2A and 2B and their real keys', () => {
        const a = read({ pid: { ins: ajaccio, birthPlace: '2A004', sex: 'M', birthDate: '19800115', firstName: 'Jean', firstNames: 'Jean Pierre' } });
        assert.equal(a.ack, 'AA', JSON.stringify(a.issues));
        assert.equal(a.patient?.ins?.value, ajaccio);
        assert.equal(a.patient?.birthPlace, '2A004');
        const b = read({ pid: { ins: bastia, birthPlace: '2B033', birthDate: '19800703' } });
        assert.equal(b.ack, 'AA', JSON.stringify(b.issues));
        assert.equal(b.patient?.ins?.value, bastia);
      });

      it('does not integrate a 2A / 2B INS whose key was computed with 20 (W 102)', () => {
        for (const good of [ajaccio, bastia]) {
          const naive = good.slice(0, 13) + String(97n - (BigInt(good.slice(0, 5) + '20' + good.slice(7, 13)) % 97n)).padStart(2, '0');
          const r = read({ pid: { ins: naive } });
          assert.equal(r.ack, 'AA');
          assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
          assert.match(r.issues[0].text, /wrong key/);
          assert.equal(r.patient?.ins, null);
        }
      });
    });

    describe('what is not an INS (warnings, never guessed)', () => {
      it('an identifier typed INS with an unknown OID', () => {
        const r = read({ pid: { insOid: '1.2.250.1.213.1.4.99', status: ['VALI'] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.issues[0].text, /not an INS OID \("1\.2\.250\.1\.213\.1\.4\.99"\): not read/);
        assert.equal(r.patient?.ins, null);
        assert.match(r.insSetAside ?? '', /not an INS OID/);
      });

      it('an identifier typed INS without OID', () => {
        const r = read({ pid: { rawIds: `123456^^^CHU-X&${OID.IPP}&ISO^PI~${MARIE_NIR}^^^ASIP-SANTE-INS-NIR^INS`, status: ['VALI'] } });
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.insSetAside ?? '', /without its assigning authority OID/);
        assert.equal(r.patient?.ins, null);
      });

      it('a legacy INS-C (type INS-C, OID 1.2.250.1.213.1.4.2)', () => {
        const r = read({ pid: { ins: '1234567890123456789012', insOid: OID.INS_C, insNamespace: 'ASIP-SANTE-INS-C', insType: 'INS-C', status: ['VALI'] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.issues[0].text, /legacy INS-C \(OID 1\.2\.250\.1\.213\.1\.4\.2\) is no longer an INS/);
        assert.equal(r.patient?.ins, null);
        assert.ok(r.insSetAside);
      });

      it('the INS-C OID even when typed INS', () => {
        const r = read({ pid: { ins: '1234567890123456789012', insOid: OID.INS_C, status: ['VALI'] } });
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.issues[0].text, /legacy INS-C/);
      });

      it('an INS-C known by its authority name only', () => {
        const r = read({ pid: { extraIds: ['1234567890123456789012^^^ASIP-SANTE-INS-C^INS-C'], ins: null, status: ['VALI'] } });
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.issues[0].text, /identifier type "INS-C" is a legacy coding/);
      });

      it('a NIR typed NH', () => {
        const r = read({ pid: { insType: 'NH', status: ['VALI'] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        assert.match(r.issues[0].text, /NIR typed NH \(the insured person’s number, not the INS\): not read as an INS/);
        assert.equal(r.patient?.ins, null);
        assert.match(r.insSetAside ?? '', /NH/);
      });

      it('an INS authority with another identifier type (INS-NIR, PT…)', () => {
        const r = read({ pid: { insType: 'INS-NIR', status: ['VALI'] } });
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
        const p = read({ pid: { insType: 'PT', status: ['VALI'] } });
        assert.deepEqual(issues(p), ['W103@PID^1^3^2']);
        assert.match(p.issues[0].text, /typed "PT" instead of INS/);
      });

      it('an INS typed PI is neither the IPP nor the INS', () => {
        const r = read({ pid: { insType: 'PI', insFirst: true, status: ['VALI'] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^3^1']);
        assert.match(r.issues[0].text, /typed "PI" instead of INS/);
        assert.deepEqual(r.patient?.ipp, IPP);
        assert.equal(r.patient?.ins, null);
      });

      it('a legacy coding beside a valid INS: warned about, the INS kept, nothing rejected', () => {
        const r = read({ pid: { extraIds: [`${MARIE_NIR}^^^ASIP-SANTE-NIR&1.2.250.1.213.1.4.8&ISO^NH`] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^3^3']);
        assert.equal(r.patient?.ins?.value, MARIE_NIR);
        assert.equal(r.insSetAside, undefined);
        assert.equal(r.patient?.qualified, true);
      });

      it('a VALI identity whose only INS is under an unknown OID is not qualified', () => {
        const r = read({ pid: { insOid: '1.2.3.4' } });
        assert.equal(r.ack, 'AA');
        assert.equal(r.patient?.status, 'VALI');
        assert.equal(r.patient?.qualified, false);
        assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
      });
    });

    it('warns when the INS authority universal id type is not ISO, keeping the INS', () => {
      const r = read({ pid: { insOidType: 'L' } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W103@PID^1^3^2']);
      assert.match(r.issues[0].text, /universal id type ISO/);
      assert.equal(r.patient?.ins?.value, MARIE_NIR);
    });

    it('PAM FR §6.6.1: two different INS-NIR are no INS (W 198), never the first one', () => {
      const other = withKey('2850569123457');
      const r = read({ pid: { extraIds: [`${other}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS`] } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W198@PID^1^3']);
      assert.match(r.issues[0].text, /2 different INS-NIR: no INS integrated \(PAM FR §6\.6\.1/);
      assert.equal(r.patient?.ins, null);
      assert.equal(r.patient?.qualified, false);
    });

    it('PAM FR §6.6.1: the same INS in two repetitions is no INS either (W 198)', () => {
      const copy = read({ pid: { extraIds: [`${MARIE_NIR}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS`] } });
      assert.deepEqual(issues(copy), ['W198@PID^1^3', 'W198@PID^1^3']);
      assert.match(copy.issues[0].text, /repeats an earlier repetition 1 time/);
      assert.match(copy.issues[1].text, /the same INS is repeated/);
      assert.equal(copy.patient?.ins, null);
      const variant = read({ pid: { extraIds: [`${MARIE_NIR}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS^^20240101`] } });
      assert.deepEqual(issues(variant), ['W198@PID^1^3']);
      assert.equal(variant.patient?.ins, null);
    });

    it('10,000 copies of the INS repetition: read once, two warnings, no INS', () => {
      const cx = `${MARIE_NIR}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS`;
      const r = read({ pid: { ins: null, extraIds: Array(10_000).fill(cx) } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W198@PID^1^3', 'W198@PID^1^3']);
      assert.match(r.issues[0].text, /9999 times/);
      assert.equal(r.patient?.ins, null);
    });

    it('keeps a valid INS after a wrong one: AA, the wrong one a warning', () => {
      const r = read({ pid: { ins: withWrongKey('2850569123456'), extraIds: [`${MARIE_NIR}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS`] } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
      assert.equal(r.patient?.ins?.value, MARIE_NIR);
      assert.equal(r.patient?.qualified, true);
      assert.equal(r.insSetAside, undefined);
    });
  });

  describe('IPP', () => {
    it('is required: AE 101 at PID^1^3 and no identity', () => {
      const r = read({ pid: { ipp: null } });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E101@PID^1^3']);
      assert.match(r.issues[0].text, /no IPP/);
      assert.equal(r.patient, null);
      assert.equal(r.action, 'none');
    });
    it('an empty PI repetition is no IPP', () => {
      const r = read({ pid: { ipp: '' } });
      assert.deepEqual(issues(r), ['E101@PID^1^3']);
      assert.equal(r.patient, null);
    });
    it('takes the first PI repetition', () => {
      const r = read({ pid: { extraIds: [`999^^^OTHER&1.2.250.1.999.9&ISO^PI`] } });
      assert.deepEqual(r.patient?.ipp, IPP);
    });
    it('warns when the IPP authority has no OID', () => {
      const r = read({ pid: { rawIds: `123456^^^CHU-X^PI~${MARIE_NIR}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS` } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W101@PID^1^3^1']);
      assert.deepEqual(r.patient?.ipp, { id: '123456', authority: 'CHU-X', oid: '' });
    });
  });

  describe('identity status and attributes (PID-32, PAM FR §6.6.15, table 0445)', () => {
    for (const status of ['VIDE', 'PROV', 'VALI']) {
      it(`reads ${status}`, () => {
        const r = read({ pid: { status: [status], ins: status === 'VALI' ? undefined : null } });
        assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
        assert.deepEqual(r.issues, []);
        assert.equal(r.patient?.status, status);
        assert.deepEqual(r.patient?.attributes, []);
        assert.equal(r.patient?.qualified, status === 'VALI');
      });
    }

    it('keeps the other codes of table 0445 as attributes, as sent, in order', () => {
      const r = read({ pid: { status: ['HOMD', 'VALI', 'IDVER', 'HOMA', 'RECD'] } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(r.issues, []);
      assert.equal(r.patient?.status, 'VALI');
      assert.deepEqual(r.patient?.attributes, ['HOMD', 'IDVER', 'HOMA', 'RECD']);
      assert.equal(r.patient?.qualified, true, 'homonyms and other attributes do not stop a qualified identity');
    });

    for (const old of ['QUAL', 'RECUP']) {
      it(`${old} is not a code of PAM FR table 0445: a warning, kept as an attribute, never qualified`, () => {
        const r = read({ pid: { status: [old] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W101@PID^1^32', 'W103@PID^1^32', 'W103@PID^1^32']);
        assert.match(r.issues[1].text, new RegExp(`${old}: not in table 0445 of PAM FR`));
        assert.match(r.issues[2].text, /INS not integrated: the identity status is missing, not VALI/);
        assert.equal(r.patient?.status, '');
        assert.deepEqual(r.patient?.attributes, [old]);
        assert.equal(r.patient?.qualified, false);
        assert.equal(r.patient?.ins, null);
      });
    }

    it('counts a repeated status once', () => {
      const r = read({ pid: { status: ['VALI', 'VALI'] } });
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.status, 'VALI');
      assert.equal(r.patient?.qualified, true);
    });

    for (const [what, status] of [['attributes only', ['HOMD']], ['an empty PID-32', []]] as [string, string[]][]) {
      it(`${what}: the identity is integrated without status and without its INS (warnings)`, () => {
        const r = read({ pid: { status } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W101@PID^1^32', 'W103@PID^1^32']);
        assert.match(r.issues[0].text, /no identity status \(VIDE, PROV or VALI\) in PID-32/);
        assert.equal(r.patient?.status, '');
        assert.equal(r.patient?.ins, null);
        assert.equal(r.patient?.qualified, false);
        assert.equal(r.action, 'update');
      });
    }

    it('two statuses: the least trusted is kept (warning), and an INS beside PROV is not integrated', () => {
      const r = read({ pid: { status: ['VALI', 'PROV'] } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W103@PID^1^32', 'W103@PID^1^32']);
      assert.match(r.issues[0].text, /several identity statuses in PID-32 \(PROV, VALI\): PROV, the least trusted, is kept/);
      assert.equal(r.patient?.status, 'PROV');
      assert.equal(r.patient?.qualified, false);
      assert.equal(r.patient?.ins, null);
    });

    it('reads the shared pamFrAdt fixture: VALI~HOMD, an INS with a wrong key, BDL in the wrong component', () => {
      const r = readAdt(parseHl7(pamFrAdt()), { now: NOW });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
      assert.equal(r.patient?.birthName, 'MARTIN');
      assert.equal(r.patient?.ins, null);
      assert.equal(r.action, 'update');
      // pamFrAdt writes BDL in XAD-11 (address representation), not XAD-7 (address type): no birth place
      const fixed = readAdt(parseHl7(pamFrAdt({ ins: '180017512345660', sex: 'M' })), { now: NOW });
      assert.equal(fixed.patient?.birthPlace, '');
      assert.deepEqual(issues(fixed), ['W101@PID^1^11']);
      assert.match(fixed.issues[0].text, /INS not integrated: a qualified identity needs its birth place INSEE code/);
      assert.equal(fixed.patient?.ins, null);
      assert.equal(fixed.patient?.qualified, false);
    });

    for (const attribute of ['DOUT', 'FICT', 'DOUB', 'DOUA', 'COLV', 'DESA', 'INVA', 'USUR']) {
      it(`VALI with ${attribute} is not qualified: the INS is not integrated (warning)`, () => {
        const r = read({ pid: { status: ['VALI', attribute] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^32']);
        assert.match(r.issues[0].text, new RegExp(`PID-32 also holds ${attribute}: never a qualified identity`));
        assert.equal(r.patient?.status, 'VALI');
        assert.deepEqual(r.patient?.attributes, [attribute]);
        assert.equal(r.patient?.qualified, false);
        assert.equal(r.patient?.ins, null);
      });
    }

    it('VALI without an INS is not qualified, and that is no fault of the message', () => {
      const r = read({ pid: { ins: null } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(r.issues, []);
      assert.equal(r.patient?.qualified, false);
    });

    for (const status of ['PROV', 'VIDE']) {
      it(`PAM FR §6.6.15: an INS received with ${status} is integrated without the INS (AA, W 103 at PID^1^32)`, () => {
        const r = read({ pid: { status: [status] } });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), ['W103@PID^1^32']);
        assert.match(r.issues[0].text, new RegExp(`INS not integrated: the identity status is ${status}, not VALI`));
        assert.equal(r.patient?.status, status);
        assert.equal(r.patient?.ins, null);
        assert.equal(r.patient?.qualified, false);
        assert.equal(r.patient?.birthName, 'MARTIN', 'the rest of the identity is integrated');
        assert.match(r.insSetAside ?? '', /not VALI/);
      });
    }
  });

  describe('birth traits', () => {
    it('reads the names typed L and D whatever their order', () => {
      const r = read({ pid: { rawNames: 'DUPONT^Jeanne^^^^^D~MARTIN^Marie^Marie  Louise   Anne^^^^L' } });
      assert.equal(r.patient?.birthName, 'MARTIN');
      assert.equal(r.patient?.firstName, 'Marie');
      assert.equal(r.patient?.firstNames, 'Marie Louise Anne', 'white space collapsed');
      assert.equal(r.patient?.usedName, 'DUPONT');
      assert.equal(r.patient?.usedFirstName, 'Jeanne');
    });

    it('leaves the used name empty when there is no repetition typed D', () => {
      const r = read({ pid: { usedName: null } });
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.usedName, '');
      assert.equal(r.patient?.usedFirstName, '');
    });

    it('reads a birth date with a time, and foreign birth places', () => {
      const r = read({ pid: { birthDate: '198505121030', birthPlace: '99350' } });
      assert.equal(r.ack, 'AA');
      assert.equal(r.patient?.birthDate, '1985-05-12');
      assert.equal(r.patient?.birthPlace, '99350');
      assert.equal(read({ pid: { birthPlace: '99999' } }).ack, 'AA', '99999: country unknown');
    });

    for (const bad of ['19850230', '19851312', '1985', '198505', 'inconnue', '12/05/1985']) {
      it(`refuses birth date "${bad}" (AE 102 at PID^1^7)`, () => {
        const r = read({ pid: { birthDate: bad } });
        assert.equal(r.ack, 'AE');
        assert.deepEqual(issues(r), ['E102@PID^1^7']);
        assert.match(r.issues[0].text, /the birth date \(PID-7\) is not a date/);
        assert.ok(!r.issues[0].text.includes(bad), 'the value is not repeated');
        assert.equal(r.patient?.birthDate, '');
        assert.equal(r.patient?.qualified, false, 'not qualified without a valid birth date');
      });
    }

    it('refuses a birth date after today (AE 102), today itself is fine', () => {
      const r = read({ pid: { birthDate: '20261201' } });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E102@PID^1^7']);
      assert.match(r.issues[0].text, /in the future/);
      assert.equal(read({ pid: { birthDate: '20261130', ins: null } }).ack, 'AA');
    });

    it('accepts 29 February in a leap year only', () => {
      assert.equal(read({ pid: { birthDate: '20000229' } }).patient?.birthDate, '2000-02-29');
      assert.equal(read({ pid: { birthDate: '19000229' } }).ack, 'AE');
    });

    for (const sex of ['F', 'M', 'U']) {
      it(`reads sex ${sex}`, () => {
        assert.equal(read({ pid: { sex, ins: null } }).patient?.sex, sex);
      });
    }

    for (const bad of ['X', 'O', 'A', 'f', 'H']) {
      it(`refuses sex "${bad}" (AE 103 at PID^1^8)`, () => {
        const r = read({ pid: { sex: bad } });
        assert.equal(r.ack, 'AE');
        assert.deepEqual(issues(r), ['E103@PID^1^8']);
        assert.equal(r.patient?.sex, 'U');
        assert.equal(r.patient?.qualified, false);
      });
    }

    it('says that O was removed by PAM FR 2.11', () => {
      assert.match(read({ pid: { sex: 'O' } }).issues[0].text, /O was removed by PAM FR 2\.11/);
    });

    it('does not keep a birth place that is not an INSEE code (warning), so the INS is not integrated', () => {
      const r = read({ pid: { birthPlace: 'Lyon' } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^11^2^9', 'W101@PID^1^11']);
      assert.equal(r.patient?.birthPlace, '');
      assert.equal(r.patient?.ins, null);
      const prov = read({ pid: { birthPlace: '6912', ins: null, status: ['PROV'] } });
      assert.deepEqual(issues(prov), ['W102@PID^1^11^2^9']);
      assert.equal(prov.patient?.birthPlace, '');
    });

    const traits: [string, AdtSpec['pid'], string, RegExp][] = [
      ['birth name', { birthName: '' }, 'PID^1^5', /birth name \(PID-5\.1 typed L\)/],
      ['first birth first name', { firstName: '' }, 'PID^1^5', /first birth first name \(PID-5\.2 typed L\)/],
      ['birth first names', { firstNames: '' }, 'PID^1^5', /birth first names \(PID-5\.3 typed L\)/],
      ['birth date', { birthDate: '' }, 'PID^1^7', /birth date \(PID-7\)/],
      ['sex', { sex: '' }, 'PID^1^8', /sex F or M \(PID-8\)/],
      ['sex (U)', { sex: 'U' }, 'PID^1^8', /sex F or M \(PID-8\)/],
      ['birth place', { birthPlace: null }, 'PID^1^11', /birth place INSEE code \(PID-11\.9 typed BDL\)/],
      ['birth place (empty code)', { birthPlace: '' }, 'PID^1^11', /birth place/],
    ];
    for (const [what, pid, location, re] of traits) {
      it(`VALI with an INS but without ${what}: integrated without the INS, W 101 at ${location}`, () => {
        const r = read({ pid });
        assert.equal(r.ack, 'AA');
        assert.deepEqual(issues(r), [`W101@${location}`]);
        assert.match(r.issues[0].text, re);
        assert.match(r.issues[0].text, /^INS not integrated: a qualified identity needs its/);
        assert.equal(r.patient?.qualified, false);
        assert.equal(r.patient?.ins, null);
        assert.equal(r.action, 'update');
      });
      it(`PROV without ${what} (and without INS) is accepted without a word`, () => {
        const r = read({ pid: { ...pid, status: ['PROV'], ins: null } });
        assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
        assert.deepEqual(r.issues, []);
      });
    }

    it('names every missing trait of a VALI identity sent with its INS', () => {
      const r = read({ pid: { rawNames: '', birthDate: '', sex: '', birthPlace: null } });
      assert.deepEqual(issues(r), ['W101@PID^1^5', 'W101@PID^1^5', 'W101@PID^1^5', 'W101@PID^1^7', 'W101@PID^1^8', 'W101@PID^1^11']);
      assert.equal(r.patient?.sex, 'U');
    });

    it('does not report an invalid trait twice: an AE says why, no "INS not integrated" beside it', () => {
      const r = read({ pid: { birthDate: '19851340' } });
      assert.deepEqual(issues(r), ['E102@PID^1^7']);
      assert.equal(r.patient?.ins, null);
    });

    it('the sex must agree with the INS-NIR (1 male, 2 female): otherwise no INS (W 102 at PID^1^8)', () => {
      const r = read({ pid: { sex: 'M' } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^8']);
      assert.match(r.issues[0].text, /disagrees with the first character of the INS-NIR/);
      assert.equal(r.patient?.sex, 'M');
      assert.equal(r.patient?.ins, null);
      const nia = read({ pid: { sex: 'M', ins: withKey('2851299350012'), insOid: OID.NIA } });
      assert.equal(nia.patient?.qualified, true, 'an INS-NIA is not checked against the sex');
    });
  });

  describe('A40 merge', () => {
    it('asks for a merge, MRG-1 naming the identity that disappears', () => {
      const r = read({ event: 'A40' });
      assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
      assert.equal(r.action, 'merge');
      assert.deepEqual(r.patient?.ipp, IPP);
      assert.deepEqual(r.patient?.replaces, [{ ipp: { id: '654321', authority: 'CHU-X', oid: OID.IPP } }]);
    });

    it('reads the INS of the merged identity', () => {
      const other = withKey('2850569123999');
      const r = read({ event: 'A40', mrg: { ins: other } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(r.patient?.replaces, [
        { ipp: { id: '654321', authority: 'CHU-X', oid: OID.IPP }, ins: { value: other, oid: OID.NIR, kind: 'NIR', environment: 'production', validFrom: null } },
      ]);
    });

    it('only warns about a wrong INS in MRG-1 (the identity disappears)', () => {
      const r = read({ event: 'A40', mrg: { ins: withWrongKey('2850569123999') } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@MRG^1^1^2']);
      assert.deepEqual(r.patient?.replaces, [{ ipp: { id: '654321', authority: 'CHU-X', oid: OID.IPP } }]);
      assert.equal(r.insSetAside, undefined, 'the surviving identity INS is fine');
    });

    it('a missing MRG is AR 100', () => {
      const r = read({ event: 'A40', mrg: null });
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E100@MRG^1']);
      assert.equal(r.patient, null);
      assert.equal(r.action, 'none');
    });

    it('MRG-1 without IPP is AE 101 and nothing to merge', () => {
      const r = read({ event: 'A40', mrg: { ipp: null, ins: withKey('2850569123999') } });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E101@MRG^1^1']);
      assert.equal(r.action, 'none');
      assert.equal(r.patient?.replaces, undefined);
    });

    it('MRG before PID is AE 100 naming MRG', () => {
      const r = read({ event: 'A40', mutate: (s) => [s[0], s[1], s[4], s[2], s[3]] });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E100@MRG^1']);
      assert.match(r.issues[0].text, /MRG segment \(segment 3\) before PID/);
    });

    it('one merge per message: a second PID is AE 100', () => {
      const r = read({ event: 'A40', mutate: (s) => [...s, s[2].replace('123456', '111111'), s[4].replace('654321', '222222')] });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E100@PID^2', 'E100@MRG^2']);
    });

    it('a merge whose surviving PID has a wrong INS is still a merge, without that INS (AA, W 102)', () => {
      const r = read({ event: 'A40', pid: { ins: withWrongKey('2850569123456') } });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@PID^1^3^2']);
      assert.equal(r.action, 'merge');
      assert.equal(r.patient?.ins, null);
      assert.ok(r.insSetAside);
      assert.equal(r.patient?.replaces?.length, 1);
    });
  });

  describe('A47 change of identifier', () => {
    it('asks for an identifier change, MRG-1 being the former identifier', () => {
      const r = read({ event: 'A47', pid: { ipp: '123999' }, mrg: { ipp: '123456' } });
      assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
      assert.equal(r.action, 'change-id');
      assert.equal(r.patient?.ipp.id, '123999');
      assert.deepEqual(r.patient?.replaces, [{ ipp: IPP }]);
    });
    it('a missing MRG is AR 100', () => {
      const r = read({ event: 'A47', mrg: null });
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E100@MRG^1']);
      assert.match(r.issues[0].text, /former identifier/);
    });
    it('PAM FR §4.4.2: an INS and no IPP in MRG-1 is a change of INS, the patient found by that INS', () => {
      const former = withKey('2850569123999');
      const r = read({ event: 'A47', mrg: { ipp: null, ins: former } });
      assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
      assert.equal(r.action, 'change-ins');
      assert.deepEqual(r.formerIns, { value: former, oid: OID.NIR });
      assert.equal(r.patient?.ins?.value, MARIE_NIR, 'the new INS, from PID-3');
      assert.equal(r.patient?.replaces, undefined);
    });
    it('MRG-1 with neither an IPP nor a valid INS is AE 101', () => {
      const r = read({ event: 'A47', mrg: { ipp: null, ins: withWrongKey('2850569123999') } });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['W102@MRG^1^1^1', 'E101@MRG^1^1']);
      assert.equal(r.action, 'none');
    });
  });

  describe('A24 link, A37 unlink', () => {
    for (const [event, action] of [['A24', 'link'], ['A37', 'unlink']] as const) {
      it(`${event} ${action}s the two PIDs`, () => {
        const r = read({ event });
        assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
        assert.equal(r.action, action);
        assert.deepEqual(r.patient?.ipp, IPP);
        assert.equal(r.linked?.ipp.id, '777888');
        assert.equal(r.linked?.firstName, 'Paul');
        assert.equal(r.linked?.sex, 'M');
        assert.equal(r.linked?.ins?.value, withKey('1850275056789'));
        assert.equal(r.linked?.qualified, true);
        assert.deepEqual(r.patient?.replaces, [{ ipp: r.linked?.ipp, ins: r.linked?.ins }], 'the other patient, for stores reading replaces');
      });
      it(`${event} with one PID is AR 100`, () => {
        const r = read({ event, mutate: (s) => s.slice(0, 4) });
        assert.equal(r.ack, 'AR');
        assert.deepEqual(issues(r), ['E100@PID^2']);
        assert.match(r.issues[0].text, /second PID segment is missing/);
        assert.equal(r.patient, null);
        assert.equal(r.linked, undefined);
      });
    }

    it('locates the errors and warnings of the second PID in PID^2', () => {
      const r = read({ event: 'A24', pid2: { ins: withWrongKey('1850275056789'), sex: 'X' } });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['W102@PID^2^3^2', 'E103@PID^2^8']);
      assert.equal(r.insSetAside, undefined, 'insRejected is about the first patient');
      assert.equal(r.linked?.ins, null);
      assert.equal(r.action, 'none', 'an AE records nothing');
    });

    it('a second PID without IPP leaves nothing to link', () => {
      const r = read({ event: 'A24', pid2: { ipp: null } });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E101@PID^2^3']);
      assert.equal(r.action, 'none');
      assert.equal(r.linked, undefined);
      assert.equal(r.patient?.replaces, undefined);
      assert.ok(r.patient);
    });

    it('a third PID is AE 100', () => {
      const r = read({ event: 'A37', mutate: (s) => [...s, s[4].replace('PID|2', 'PID|3')] });
      assert.deepEqual(issues(r), ['E100@PID^3']);
    });
  });

  describe('segment order', () => {
    it('PID before EVN is AE 100 naming PID', () => {
      const r = read({ mutate: (s) => [s[0], s[2], s[1], ...s.slice(3)] });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E100@PID^1']);
      assert.match(r.issues[0].text, /PID segment \(segment 2\) before EVN/);
      assert.ok(r.patient, 'the identity is still read');
    });

    it('a second MSH (two messages glued together) is AE 100', () => {
      const r = read({ mutate: (s) => [...s, ...s] });
      assert.equal(r.ack, 'AE');
      assert.equal(r.issues[0].code, '100');
      assert.equal(r.issues[0].location, 'MSH^2');
      assert.match(r.issues[0].text, /a second MSH segment \(segment 6\)/);
      assert.ok(issues(r).includes('E100@EVN^2'));
      assert.ok(issues(r).includes('E100@PID^2'));
    });

    it('a missing EVN is AE 100, and the event time comes from MSH-7', () => {
      const r = read({ mutate: (s) => s.filter((l) => !l.startsWith('EVN')) });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E100@EVN^1']);
      assert.equal(r.eventTime, '2026-11-23T10:15:00+01:00');
    });

    it('a missing PID is AR 100', () => {
      const r = read({ mutate: (s) => s.filter((l) => !l.startsWith('PID')) });
      assert.equal(r.ack, 'AR');
      assert.deepEqual(issues(r), ['E100@PID^1']);
      assert.match(r.issues[0].text, /PID segment missing/);
      assert.equal(r.patient, null);
      assert.equal(r.action, 'none');
    });

    it('PD1 or PV1 before PID is AE 100 naming them', () => {
      const r = read({ event: 'A01', mutate: (s) => [s[0], s[1], s[4], s[3], s[2], ...s.slice(5)] });
      assert.equal(r.ack, 'AE');
      assert.deepEqual(issues(r), ['E100@PV1^1', 'E100@PD1^1']);
    });

    it('a repeated PID or EVN is AE 100', () => {
      assert.deepEqual(issues(read({ mutate: (s) => [...s, s[2]] })), ['E100@PID^2']);
      assert.deepEqual(issues(read({ mutate: (s) => [...s, s[1]] })), ['E100@EVN^2']);
    });

    it('accepts SFT after MSH, and Z segments after PID', () => {
      const r = read({ event: 'A01', mutate: (s) => [s[0], 'SFT|Editeur^L^^^^&1.2.250.1.999&ISO^XX|1.0|GAM', ...s.slice(1), 'ZFP|1|2', 'ZFV|^20261120'] });
      assert.equal(r.ack, 'AA', JSON.stringify(r.issues));
    });

    it('refuses SFT elsewhere', () => {
      const r = read({ mutate: (s) => [...s, 'SFT|x'] });
      assert.deepEqual(issues(r), ['E100@SFT^1']);
    });
  });

  describe('event time', () => {
    it('prefers EVN-6 (event occurred)', () => {
      assert.equal(read().eventTime, '2026-11-23T10:10:00+01:00');
    });
    it('falls back to EVN-2, then MSH-7', () => {
      assert.equal(read({ evnOccurred: '' }).eventTime, '2026-11-23T10:15:00+01:00');
      assert.equal(read({ evnOccurred: '', evnRecorded: '', mshTime: '20261123101700' }).eventTime, '2026-11-23T10:17:00');
    });
    it('keeps the precision sent: fraction of second, negative offset, minutes', () => {
      assert.equal(read({ evnOccurred: '20260315083005.123-0400' }).eventTime, '2026-03-15T08:30:05.123-04:00');
      assert.equal(read({ evnOccurred: '202611231010' }).eventTime, '2026-11-23T10:10:00');
      assert.equal(read({ evnOccurred: '20261123' }).eventTime, '2026-11-23');
    });
    it('warns about an unreadable time and uses the next', () => {
      const r = read({ evnOccurred: '20261340' });
      assert.equal(r.ack, 'AA');
      assert.deepEqual(issues(r), ['W102@EVN^1^6']);
      assert.equal(r.eventTime, '2026-11-23T10:15:00+01:00');
    });
    it('"" (HL7 null) is no time: the next one is used, without a warning', () => {
      const r = read({ evnOccurred: '""' });
      assert.deepEqual(r.issues, []);
      assert.equal(r.eventTime, '2026-11-23T10:15:00+01:00');
    });
    it('is null when no time can be read', () => {
      const r = read({ evnOccurred: 'x', evnRecorded: 'y', mshTime: '' });
      assert.equal(r.eventTime, null);
      assert.deepEqual(issues(r), ['W102@EVN^1^6', 'W102@EVN^1^2']);
    });
    it('is read even when the message is rejected', () => {
      const r = read({ event: 'X29' });
      assert.equal(r.ack, 'AR');
      assert.equal(r.eventTime, '2026-11-23T10:10:00+01:00');
    });
    it('is an instant too: with its offset, or as Europe/Paris wall-clock time when it has none', () => {
      assert.equal(read().eventMs, Date.parse('2026-11-23T10:10:00+01:00'));
      assert.equal(read({ evnOccurred: '20260715101000' }).eventMs, Date.parse('2026-07-15T10:10:00+02:00'), 'summer time');
      assert.equal(read({ evnOccurred: '20261123101000' }).eventMs, Date.parse('2026-11-23T10:10:00+01:00'));
      assert.equal(read({ evnOccurred: '20261123101000' }, { timeZone: 'America/Cayenne' }).eventMs, Date.parse('2026-11-23T10:10:00-03:00'));
    });
    it('a time in the future beyond the clock tolerance is AE 102: one absurd date must not freeze the patient', () => {
      for (const future of ['99991231', '20261201000000+0100', '20261130121100+0100']) {
        const r = read({ evnOccurred: future });
        assert.equal(r.ack, 'AE', future);
        assert.deepEqual(issues(r), ['E102@EVN^1^6']);
        assert.match(r.issues[0].text, /EVN-6 is in the future \(more than 10 min ahead/);
        assert.equal(r.action, 'none');
      }
      assert.equal(read({ evnOccurred: '20261130120900+0100' }).ack, 'AA', 'within the tolerance');
      assert.equal(read({ evnOccurred: '20261130121100+0100' }, { clockToleranceMs: 15 * 60_000 }).ack, 'AA');
    });
  });
});
