import { strict as assert } from 'node:assert';
import { buildSafeAck, encodeHl7, parseAck, readHeader, type Hl7Header } from '../../lib/hl7';
import { adtMessage } from '../fixtures/adt';

describe('lib/hl7 buildSafeAck', () => {
  const header = readHeader(adtMessage({ controlId: 'SAFE1' })); // MSH-18 8859/1

  it('is buildAck when that works: the original charset, sender and control id', () => {
    const ack = buildSafeAck(header, { code: 'AE', text: 'Hélène', errors: [{ code: '102', location: 'PID^1^3^2', text: 'clé fausse' }] });
    const h = readHeader(ack);
    assert.equal(h.charset, '8859/1');
    assert.equal(h.receivingApplication, 'GAM');
    const back = parseAck(ack);
    assert.equal(back.code, 'AE');
    assert.equal(back.controlId, 'SAFE1');
    assert.equal(back.text, 'Hélène');
    assert.deepEqual(back.errors.map((e) => [e.code, e.location, e.text]), [['102', 'PID^1^3^2', 'clé fausse']]);
  });

  it('keeps the charset and reduces the texts to ASCII when the charset cannot carry them', () => {
    const ack = buildSafeAck(header, { code: 'AE', text: 'positions 6–7 “quoted” Hélène', errors: [{ code: '102', text: 'œuvre…' }] });
    assert.equal(readHeader(ack).charset, '8859/1');
    assert.doesNotThrow(() => encodeHl7(ack));
    const back = parseAck(ack);
    assert.equal(back.text, 'positions 6-7 "quoted" Helene');
    assert.equal(back.errors[0].text, '?uvre...');
  });

  it('drops MSH-18 when the charset is not supported', () => {
    const ack = buildSafeAck({ ...header, charset: 'ISO IR87' }, { code: 'AR', errors: [{ code: '103', location: 'MSH^1^18' }] });
    assert.equal(readHeader(ack).charset, '');
    assert.equal(parseAck(ack).controlId, 'SAFE1');
  });

  it('answers input without a header: v2.5, MSA-2 empty', () => {
    const ack = buildSafeAck(undefined, { code: 'AR', text: 'not HL7', errors: [{ code: '100', location: 'MSH^1' }] });
    const h = readHeader(ack);
    assert.equal(h.version, '2.5');
    assert.equal(h.type, 'ACK');
    assert.deepEqual([parseAck(ack).code, parseAck(ack).controlId], ['AR', '']);
  });

  it('writes a minimal ACK by hand when nothing else works, and never throws', () => {
    const broken = new Proxy({} as Hl7Header, {
      get(_t, prop) {
        if (prop === 'controlId') return 'C|1';
        throw new Error(`no ${String(prop)}`);
      },
      ownKeys() {
        throw new Error('no keys');
      },
    });
    const ack = buildSafeAck(broken, { code: 'AR', text: 'a|b', errors: [{ code: '207', text: 'x^y' }] });
    assert.match(ack, /^MSH\|\^~\\&\|\|\|\|\|\d{14}\|\|ACK\|/);
    const back = parseAck(ack);
    assert.equal(back.code, 'AR');
    assert.equal(back.controlId, 'C 1');
    assert.equal(back.text, 'a b');
    assert.deepEqual(back.errors.map((e) => [e.code, e.text, e.severity]), [['207', 'x y', 'E']]);
  });
});
