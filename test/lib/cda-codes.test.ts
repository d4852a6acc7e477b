// The generated code table (lib/cda/codes.ts) against the ANS value sets, when ../shared is present.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as codes from '../../lib/cda/codes';
import { DOCUMENT_TYPE_ALIASES, documentType } from '../../lib/cda';
import { projectRoot } from '../support/check-cda';

interface Concept {
  code: string;
  codeSystem: string;
  displayName: string;
  retired: boolean;
}

const dir = path.resolve(projectRoot(), '..', 'shared', 'cisis', 'ans', 'jeuxDeValeurs');

/** The concepts of an SVS file, read independently of scripts/gen-cda-codes.js. */
function svs(file: string): Concept[] {
  const bytes = fs.readFileSync(path.join(dir, file));
  const latin1 = /encoding="ISO-8859-1"/i.test(bytes.subarray(0, 100).toString('latin1'));
  const xml = bytes.toString(latin1 ? 'latin1' : 'utf8');
  const attr = (tag: string, name: string) => {
    const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
    return m ? m[1].replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') : '';
  };
  return [...xml.matchAll(/<Concept\s[^>]*>/g)].map((m) => ({
    code: attr(m[0], 'code'),
    codeSystem: attr(m[0], 'codeSystem'),
    displayName: attr(m[0], 'displayName'),
    retired: attr(m[0], 'dateFin') !== '',
  }));
}

const key = (c: { code: string; codeSystem: string }) => `${c.code}|${c.codeSystem}`;
const strip = (rows: readonly { code: string; codeSystem: string; displayName: string }[]) => rows.map((r) => ({ code: r.code, codeSystem: r.codeSystem, displayName: r.displayName }));
const active = (cs: Concept[]) => cs.filter((c) => !c.retired).map(({ code, codeSystem, displayName }) => ({ code, codeSystem, displayName }));

describe('lib/cda code table (generated from the ANS value sets)', () => {
  before(function () {
    if (!fs.existsSync(dir)) this.skip(); // ../shared absent: nothing to compare with
  });

  it('document types: JDV_J07-XdsTypeCode-CISIS codes that are in TRE_A04-Loinc or TRE_A05, as the TRE lists them', () => {
    const tre = new Map<string, Concept & { valueSet: string }>();
    for (const c of svs('TRE_A04-Loinc.xml')) if (!c.retired) tre.set(key(c), { ...c, valueSet: 'TRE_A04-Loinc' });
    for (const c of svs('TRE_A05-TypeDocComplementaire.xml')) if (!c.retired) tre.set(key(c), { ...c, valueSet: 'TRE_A05-TypeDocComplementaire' });
    const expected = svs('JDV_J07-XdsTypeCode-CISIS.xml')
      .filter((c) => tre.has(key(c)))
      .map((c) => {
        const t = tre.get(key(c)) as Concept & { valueSet: string };
        return { code: t.code, codeSystem: t.codeSystem, displayName: t.displayName, valueSet: t.valueSet };
      });
    assert.deepEqual(codes.DOCUMENT_TYPES, expected);
    const j07 = svs('JDV_J07-XdsTypeCode-CISIS.xml');
    const missing = j07.filter((c) => !tre.has(key(c))).map((c) => c.code);
    assert.deepEqual(missing, ['E1762'], 'JDV_J07 codes the CI-SIS header rules would refuse');
  });

  const tables: [keyof typeof codes, string[]][] = [
    ['CONFIDENTIALITY_CODES', ['TRE_A08-HL7Confidentiality.xml']],
    ['ADMINISTRATIVE_GENDERS', ['TRE_R303-HL7v3AdministrativeGen.xml']],
    ['HEALTHCARE_FACILITY_TYPES', ['TRE_R02-SecteurActivite.xml']],
    ['PRACTICE_SETTINGS', ['TRE_A01-CadreExercice.xml']],
    ['SPECIALTIES', ['JDV_AuthorSpecialty-CISIS.xml']],
    ['ENCOUNTER_TYPES', ['TRE_R304-HL7v3ActCode.xml', 'TRE_R305-TypeRencontre.xml']],
    ['AUTHOR_FUNCTIONS', ['TRE_R85-RolePriseCharge.xml']],
  ];
  for (const [name, files] of tables) {
    it(`${name}: the active concepts of ${files.join(' and ')}, code system and display name exactly`, () => {
      assert.deepEqual(strip(codes[name] as readonly codes.CodedConcept[]), files.flatMap((f) => active(svs(f))));
    });
  }

  it('author specialties are accepted by the author rules too (TRE_A02, A00, R85, R94, R95)', () => {
    const author = new Set(
      ['TRE_A02-ProfessionSavFaire-CISIS.xml', 'TRE_A00-ProducteurDocNonPS.xml', 'TRE_R85-RolePriseCharge.xml', 'TRE_R94-ProfessionSocial.xml', 'TRE_R95-UsagerTitre.xml']
        .flatMap((f) => svs(f))
        .map(key),
    );
    assert.deepEqual(codes.SPECIALTIES.filter((c) => !author.has(key(c))).map((c) => c.code), []);
  });

  it('the Ségur aliases name LOINC codes of the table', () => {
    for (const [alias, code] of Object.entries(DOCUMENT_TYPE_ALIASES)) {
      assert.equal(documentType(alias)?.code, code, alias);
      assert.equal(documentType(alias)?.codeSystem, '2.16.840.1.113883.6.1', alias);
    }
  });
});
