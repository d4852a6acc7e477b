import assert from 'node:assert/strict';
import { checkInsKey, INS_OIDS, insOidInfo, LEGACY_INS_OIDS } from '../../lib/ins';
import { MARIE_NIR, withKey, withWrongKey } from '../fixtures/adt';

describe('lib/ins INS key (checkInsKey)', () => {
  it('the fixture key helper agrees with a published example (2 69 05 49 588 157 80)', () => {
    assert.equal(withKey('2690549588157'), '269054958815780');
  });

  it('accepts valid NIRs', () => {
    for (const v of ['269054958815780', MARIE_NIR, withKey('1800175123456'), withKey('1000000000000'), withKey('2991299999999')]) {
      assert.deepEqual(checkInsKey(v), { ok: true }, v);
      assert.deepEqual(checkInsKey(v, 'NIR'), { ok: true }, v);
    }
  });

  it('computes the key as 97 - (number mod 97), 97 included, written on two digits', () => {
    // 10^12 ≡ 50 (mod 97) → key 47; a multiple of 97 → key 97; ≡ 96 → key 01
    assert.equal(withKey('1000000000000').slice(13), '47');
    const multiple = (97n * 20000000000n).toString(); // 1940000000000, ≡ 0 mod 97
    assert.equal(multiple.length, 13);
    assert.deepEqual(checkInsKey(multiple + '97'), { ok: true });
    assert.deepEqual(checkInsKey(multiple + '00'), { ok: false, reason: 'wrong key 00, expected 97', expectedKey: '97' });
    const ninetySix = (BigInt(multiple) + 96n).toString();
    assert.deepEqual(checkInsKey(ninetySix + '01'), { ok: true });
  });

  it('needs BigInt-exact arithmetic (13 digits near 10^13)', () => {
    const v = withKey('1999999999999');
    assert.deepEqual(checkInsKey(v), { ok: true });
    assert.equal(v, '1999999999999' + String(97n - (1999999999999n % 97n)).padStart(2, '0'));
  });

  it('reports a wrong key with the expected one', () => {
    const good = MARIE_NIR;
    const bad = withWrongKey('2850569123456');
    const r = checkInsKey(bad);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.expectedKey, good.slice(13));
    assert.match(r.reason, new RegExp(`wrong key ${bad.slice(13)}, expected ${good.slice(13)}`));
  });

  describe('Corsica (2A, 2B at positions 6–7)', () => {
    // born in Ajaccio (2A004) and Bastia (2B033)
    const ajaccio = withKey('180012A004123');
    const bastia = withKey('280072B033045');

    it('replaces 2A by 19 and 2B by 18 before computing the key', () => {
      assert.deepEqual(checkInsKey(ajaccio), { ok: true });
      assert.deepEqual(checkInsKey(bastia), { ok: true });
      assert.equal(ajaccio.slice(13), String(97n - (1800119004123n % 97n)).padStart(2, '0'));
      assert.equal(bastia.slice(13), String(97n - (2800718033045n % 97n)).padStart(2, '0'));
    });

    it('rejects the key computed as if 2A were 20 (or 2B 20)', () => {
      const naiveA = '180012A004123' + String(97n - (1800120004123n % 97n)).padStart(2, '0');
      assert.notEqual(naiveA, ajaccio);
      const r = checkInsKey(naiveA);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.expectedKey, ajaccio.slice(13));
      const naiveB = '280072B033045' + String(97n - (2800720033045n % 97n)).padStart(2, '0');
      const rb = checkInsKey(naiveB);
      assert.equal(rb.ok, false);
      if (!rb.ok) assert.equal(rb.expectedKey, bastia.slice(13));
    });

    it('accepts 2A / 2B only at positions 6–7, in capitals', () => {
      assert.equal(checkInsKey('1800119004123' + ajaccio.slice(13)).ok, true, 'the substituted form has the same key');
      for (const v of ['12A0119004123', '180012a004123', '1800119A04123'].map((n) => n + '00')) {
        const r = checkInsKey(v);
        assert.equal(r.ok, false, v);
        if (!r.ok) assert.match(r.reason, /digits/);
      }
    });
  });

  describe('malformed values', () => {
    const cases: [string, RegExp][] = [
      ['', /0 characters instead of 15/],
      ['28505691234', /11 characters instead of 15/],
      ['2850569123456789', /16 characters instead of 15/],
      [' 28505691234567', /digits/],
      ['285 0569123456 ', /digits/],
      ['2850569123456AB', /key "AB"/],
      ['2850569123456 1', /key " 1"/],
    ];
    for (const [v, re] of cases) {
      it(`rejects "${v}"`, () => {
        const r = checkInsKey(v);
        assert.equal(r.ok, false);
        if (!r.ok) {
          assert.match(r.reason, re);
          assert.equal(r.expectedKey, undefined);
        }
      });
    }
    it('rejects what is not a string', () => {
      const r = checkInsKey(null as unknown as string);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, /null/);
    });
  });

  describe('sex digit', () => {
    it('accepts 1, 2, 3, 4, 7 and 8 (NIA and temporary numbers) when the kind is not NIR', () => {
      for (const d of '123478') {
        const v = withKey(`${d}851299350012`);
        assert.deepEqual(checkInsKey(v), { ok: true }, v);
        assert.deepEqual(checkInsKey(v, 'NIA'), { ok: true }, v);
      }
    });
    it('rejects 0, 5, 6 and 9', () => {
      for (const d of '0569') {
        const r = checkInsKey(withKey(`${d}851299350012`));
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, /first character \(sex\)/);
      }
    });
    it('accepts only 1 and 2 for an INS-NIR', () => {
      for (const d of '3478') {
        const r = checkInsKey(withKey(`${d}851299350012`), 'NIR');
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, /1 or 2 \(INS-NIR\)/);
      }
    });
  });

  describe('INS_OIDS', () => {
    it('lists the four INS authorities', () => {
      assert.deepEqual(
        Object.entries(INS_OIDS).map(([oid, i]) => [oid, i.kind, i.environment]),
        [
          ['1.2.250.1.213.1.4.8', 'NIR', 'production'],
          ['1.2.250.1.213.1.4.9', 'NIA', 'production'],
          ['1.2.250.1.213.1.4.10', 'NIR', 'test'],
          ['1.2.250.1.213.1.4.11', 'NIR', 'demo'],
        ],
      );
      assert.equal(INS_OIDS['1.2.250.1.213.1.4.8'].label, 'INS-NIR');
    });
    it('is frozen and knows the INS-C as legacy only', () => {
      assert.ok(Object.isFrozen(INS_OIDS));
      assert.ok(Object.isFrozen(INS_OIDS['1.2.250.1.213.1.4.9']));
      assert.equal(insOidInfo('1.2.250.1.213.1.4.2'), undefined);
      assert.equal(LEGACY_INS_OIDS['1.2.250.1.213.1.4.2'], 'INS-C');
    });
    it('does not answer for inherited keys', () => {
      assert.equal(insOidInfo('constructor'), undefined);
      assert.equal(insOidInfo('toString'), undefined);
    });
  });
});
