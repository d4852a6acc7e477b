// lib/psc rules without a network: the eIDAS ladder, the return path after a login, the PSC claims
// read into a professional, the allow-lists, the settings and their safety rules.
import { strict as assert } from 'node:assert';
import {
  PSC_ISSUERS,
  acrRank,
  expandEnv,
  isAllowed,
  meetsAcr,
  readNationalId,
  readProfessional,
  readSettings,
  safeDetail,
  safeReturnPath,
  type PscSettingsInput,
} from '../../lib/psc';
import { doctorAccount } from '../support/psc-provider';

describe('lib/psc: authentication level (acr)', () => {
  it('PSC référentiel: eidas1 is required; eidas2 and eidas3 satisfy it', () => {
    assert.ok(meetsAcr('eidas1', 'eidas1'));
    assert.ok(meetsAcr('eidas2', 'eidas1'));
    assert.ok(meetsAcr('eidas3', 'eidas1'));
    assert.ok(!meetsAcr('eidas1', 'eidas2'));
  });

  it('anything that is not an eIDAS level satisfies none: missing, empty, eidas0, another vocabulary, other types', () => {
    for (const acr of [undefined, null, '', 'eidas0', 'EIDAS1', 'eidas1 ', 'urn:mace:incommon:iap:silver', 'loa-3', 1, ['eidas1'], { acr: 'eidas1' }]) {
      assert.ok(!meetsAcr(acr, 'eidas1'), JSON.stringify(acr));
      assert.equal(acrRank(acr), -1);
    }
  });
});

describe('lib/psc: the return path after a login (no open redirect)', () => {
  it('keeps a path of this site, with its query', () => {
    assert.equal(safeReturnPath('/'), '/');
    assert.equal(safeReturnPath('/portabilite/export?ipp=123&x=%2F%2Fa'), '/portabilite/export?ipp=123&x=%2F%2Fa');
    assert.equal(safeReturnPath('/a/../b'), '/b');
    assert.equal(safeReturnPath('/page#frag'), '/page');
  });

  it('OWASP unvalidated redirects: refuses what a browser could read as another origin', () => {
    for (const v of [
      'https://evil.example/',
      'http:evil.example',
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/\tevil',
      '/ /evil',
      '/%0d%0aSet-Cookie: a=b'.replace('%0d%0a', '\r\n'),
      'javascript:alert(1)',
      'evil.example/path',
      '',
      '/' + 'a'.repeat(3000),
      undefined,
      42,
    ]) {
      assert.equal(safeReturnPath(v), null, JSON.stringify(v));
    }
  });
});

describe('lib/psc: the professional from PSC userinfo claims', () => {
  it('PSC UserInfo: SubjectNameID is the national id (8 + RPPS), SubjectRefPro gives professions, activities and structures', () => {
    const account = doctorAccount();
    const p = readProfessional({ sub: account.id, ...account.claims }, 'eidas1')!;
    assert.equal(p.nationalId, '810001234567');
    assert.equal(p.idType, 'RPPS');
    assert.equal(p.rpps, '10001234567');
    assert.equal(p.familyName, 'MEDECIN-TEST');
    assert.equal(p.givenName, 'CLAIRE');
    assert.equal(p.acr, 'eidas1');
    assert.deepEqual(p.professions, [
      {
        code: '10',
        category: 'C',
        civility: 'DR',
        familyName: 'MEDECIN-TEST',
        givenName: 'CLAIRE',
        expertiseType: 'S',
        expertise: 'SM54',
        activities: [{ mode: 'S', sector: 'SA01', role: 'FON-05', structureId: 'F690000001', structureName: 'CHU TEST', finess: '690000001', legalFiness: '690000000' }],
      },
    ]);
    assert.equal(p.claims.SubjectOrganization, 'CHU TEST');
  });

  it('idNat_PS: "0" + ADELI, other prefixes kept as OTHER', () => {
    assert.deepEqual(readNationalId('0751234567'), { idType: 'ADELI', adeli: '751234567' });
    assert.deepEqual(readNationalId('3690000001/12345'), { idType: 'OTHER' });
    assert.deepEqual(readNationalId('ANS20200521142232'), { idType: 'OTHER' });
  });

  it('SubjectRefPro as a JSON string is read; without it, professions come from SubjectRole', () => {
    const account = doctorAccount();
    const fromString = readProfessional({ sub: 's', ...account.claims, SubjectRefPro: JSON.stringify(account.claims.SubjectRefPro) })!;
    assert.equal(fromString.professions[0].code, '10');
    const fromRoles = readProfessional({ sub: 's', SubjectNameID: '899700000001', SubjectRole: ['60^1.2.250.1.213.1.1.5.5', '60^1.2.250.1.213.1.1.5.5'] })!;
    assert.deepEqual(fromRoles.professions, [{ code: '60', activities: [] }]);
  });

  it('no SubjectNameID, or claims of the wrong shape: no professional, or only what is readable', () => {
    assert.equal(readProfessional({ sub: 's' }), null);
    assert.equal(readProfessional({ sub: 's', SubjectNameID: '' }), null);
    assert.equal(readProfessional({ SubjectNameID: '810001234567' }), null, 'no sub');
    const odd = readProfessional({ sub: 's', SubjectNameID: '810001234567', SubjectRefPro: { exercices: [null, 3, { codeProfession: 7 }, { codeProfession: '21', activities: 'x' }] } })!;
    assert.deepEqual(odd.professions, [{ code: '21', activities: [] }]);
  });

  it('allow-lists: empty lets everyone in; professions (TRE_G15) and national ids restrict', () => {
    const account = doctorAccount();
    const p = readProfessional({ sub: account.id, ...account.claims })!;
    assert.ok(isAllowed(p, { professions: [], nationalIds: [] }));
    assert.ok(isAllowed(p, { professions: ['10', '21'], nationalIds: [] }));
    assert.ok(!isAllowed(p, { professions: ['60'], nationalIds: [] }));
    assert.ok(isAllowed(p, { professions: [], nationalIds: ['810001234567'] }));
    assert.ok(!isAllowed(p, { professions: ['10'], nationalIds: ['899999999999'] }));
  });
});

describe('lib/psc: settings', () => {
  const ok: PscSettingsInput = { clientId: 'segur-dpi', redirectUri: 'https://sih.example.fr/psc/callback', hasSecret: true, hasClientCertificate: false };
  const env = (vars: Record<string, string>) => (name: string) => vars[name];

  it('defaults from the PSC référentiel: sandbox issuer, openid scope_all, eidas1, RS256; paths beside the redirect URI', () => {
    const { settings, problems } = readSettings(ok, env({}));
    assert.deepEqual(problems, []);
    assert.equal(settings!.issuer, PSC_ISSUERS.sandbox);
    assert.equal(settings!.scope, 'openid scope_all');
    assert.equal(settings!.acr, 'eidas1');
    assert.equal(settings!.signingAlg, 'RS256');
    assert.equal(settings!.loginPath, '/psc/login');
    assert.equal(settings!.logoutPath, '/psc/logout');
    assert.equal(settings!.postLogoutRedirectUri, 'https://sih.example.fr/psc/signed-out');
    assert.equal(settings!.secureCookies, true);
    assert.equal(settings!.sessionLifetimeMs, 60 * 60_000);
    assert.equal(settings!.bearer, 'introspection');
    assert.deepEqual(settings!.bearerClients, ['segur-dpi']);
  });

  it('environment variables: ${NAME} and ${NAME:-default}', () => {
    assert.equal(expandEnv('${PSC_ISSUER:-https://x}', env({})), 'https://x');
    assert.equal(expandEnv('${PSC_ISSUER:-https://x}', env({ PSC_ISSUER: 'https://y' })), 'https://y');
    assert.equal(expandEnv('${PSC_CLIENT_ID}', env({})), '');
    const { settings } = readSettings({ ...ok, clientId: '${PSC_CLIENT_ID:-demo}', issuer: '${PSC_ISSUER:-' + PSC_ISSUERS.production + '}' }, env({}));
    assert.equal(settings!.clientId, 'demo');
    assert.equal(settings!.issuer, PSC_ISSUERS.production);
  });

  it('refuses what would weaken the login, naming each setting', () => {
    const cases: [Partial<PscSettingsInput>, RegExp][] = [
      [{ issuer: 'http://auth.example.fr' }, /issuer must be an https URL/],
      [{ clientId: '' }, /no client id/],
      [{ clientAuth: 'tls_client_auth' }, /client certificate/],
      [{ redirectUri: 'http://sih.example.fr/psc/callback' }, /redirect URI must be https/],
      [{ redirectUri: '/psc/callback' }, /redirect URI is not an absolute URL/],
      [{ acr: 'eidas0' }, /unknown authentication level/],
      [{ scope: 'scope_all' }, /must include openid/],
      [{ signingAlg: 'HS256' }, /asymmetric algorithms only/],
      [{ signingAlg: 'none' }, /asymmetric algorithms only/],
      [{ sessionMinutes: '0' }, /session lifetime/],
      [{ logoutPath: '/psc/callback' }, /logout path must differ/],
      [{ loginPath: 'login' }, /login path must be a path/],
      [{ postLogoutRedirectUri: 'https://evil.example/x#y' }, /fragment/],
    ];
    for (const [change, problem] of cases) {
      const { settings, problems } = readSettings({ ...ok, ...change }, env({}));
      assert.equal(settings, null, JSON.stringify(change));
      assert.match(problems.join('; '), problem, JSON.stringify(change));
    }
  });

  it('http and non-Secure cookies only on the loopback interface (tests): over https cookies are always Secure', () => {
    const { settings, problems } = readSettings({ ...ok, redirectUri: 'http://127.0.0.1:1881/psc/callback', secureCookies: false }, env({}));
    assert.deepEqual(problems, []);
    assert.equal(settings!.secureCookies, false);
    assert.equal(readSettings({ ...ok, secureCookies: false }, env({})).settings!.secureCookies, true);
  });

  it('no client secret is a warning, not a problem (the secret may come later, e.g. ${PSC_CLIENT_SECRET} in the credential)', () => {
    const { settings, warnings } = readSettings({ ...ok, hasSecret: false }, env({}));
    assert.ok(settings);
    assert.match(warnings.join(), /no client secret/);
  });
});

describe('lib/psc: error details are safe to log', () => {
  it('cuts anything token-like out of a library message, keeps words', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ1Njc4OTA';
    const detail = safeDetail(new Error(`unexpected JWT "aud" (audience) claim value in ${jwt} at introspection_endpoint`));
    assert.ok(!detail.includes('eyJhbGci'), detail);
    assert.match(detail, /unexpected JWT "aud" \(audience\) claim value/);
    assert.match(detail, /introspection_endpoint/);
    assert.equal(safeDetail(new Error('code Xy7Gq2LmN0pQrStUvWxYz1 refused')), 'code … refused');
  });
});
