// The health professional PSC authenticated, read from its userinfo claims (PSC "UserInfo" as its
// documentation lists them):
// - SubjectNameID: the national identifier of the professional (idNat_PS of the RPPS / ADELI
//   directories: "8" + RPPS number, "0" + ADELI number, other prefixes for other registrations);
// - SubjectRefPro: the professional record of the directory — civility and one entry per exercised
//   profession ("exercices": codeProfession of TRE_G15, category, civility, exercise names, expertise)
//   with its activities ("activities": mode and sector of activity, role, the structure — technical id,
//   name, FINESS, SIRET, SIREN);
// - SubjectRole: "<profession code>^<OID>" per profession (used when SubjectRefPro is absent);
// - given_name, family_name.
// The shape of these claims is not guaranteed (a JSON string for SubjectRefPro has been seen in older
// integrations): every field is read defensively and only strings are kept.

export type NationalIdType = 'RPPS' | 'ADELI' | 'OTHER';

export interface PscActivity {
  /** codeModeExercice (L libéral, S salarié, B bénévole…) */
  mode?: string;
  /** codeSecteurDActivite (TRE_R02, e.g. SA07 cabinet individuel, SA01 établissement public de santé) */
  sector?: string;
  /** codeRole (TRE_R21) */
  role?: string;
  /** identifiantTechniqueDeLaStructure */
  structureId?: string;
  /** raisonSocialeSite */
  structureName?: string;
  /** numeroFinessSite */
  finess?: string;
  /** numeroFinessetablissementJuridique */
  legalFiness?: string;
  /** numeroSiretSite */
  siret?: string;
  /** numeroSirenSite */
  siren?: string;
}

export interface PscProfession {
  /** codeProfession (TRE_G15: 10 médecin, 21 pharmacien, 40 chirurgien-dentiste, 50 sage-femme, 60 infirmier…) */
  code: string;
  /** codeCategorieProfessionnelle (C civil, M militaire, E étudiant) */
  category?: string;
  /** codeCiviliteDexercice (DR, PR…) */
  civility?: string;
  /** nomDexercice, prenomDexercice */
  familyName?: string;
  givenName?: string;
  /** codeTypeSavoirFaire, codeSavoirFaire (specialty) */
  expertiseType?: string;
  expertise?: string;
  activities: PscActivity[];
}

export interface PscProfessional {
  /** SubjectNameID: the national identifier (idNat_PS). */
  nationalId: string;
  /** What the national identifier is, from its first character (8 RPPS, 0 ADELI). */
  idType: NationalIdType;
  /** The RPPS number (the national id without its "8"), for an RPPS national id. */
  rpps?: string;
  /** The ADELI number (the national id without its "0"), for an ADELI national id. */
  adeli?: string;
  familyName?: string;
  givenName?: string;
  professions: PscProfession[];
  /** The OpenID subject (sub) PSC gave this professional. */
  sub: string;
  /** The authentication level (acr) of the login or of the token. */
  acr?: string;
  /** The userinfo claims as PSC sent them. */
  claims: Record<string, unknown>;
}

/** Who may pass beside being authenticated at the required level: empty lists let everyone pass. */
export interface PscAllowList {
  /** TRE_G15 profession codes (codeProfession); one of the professional's professions must be listed. */
  professions: string[];
  /** National identifiers (SubjectNameID). */
  nationalIds: string[];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const record = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function withoutEmpty<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The type of a national id (idNat_PS) from its first character, and the directory number it holds. */
export function readNationalId(nationalId: string): { idType: NationalIdType; rpps?: string; adeli?: string } {
  if (/^8\d{11}$/.test(nationalId)) return { idType: 'RPPS', rpps: nationalId.slice(1) };
  if (/^0[0-9A-Za-z]{9}$/.test(nationalId)) return { idType: 'ADELI', adeli: nationalId.slice(1) };
  return { idType: 'OTHER' };
}

function readActivity(v: unknown): PscActivity | null {
  const a = record(v);
  if (!a) return null;
  return withoutEmpty({
    mode: text(a.codeModeExercice),
    sector: text(a.codeSecteurDActivite),
    role: text(a.codeRole),
    structureId: text(a.identifiantTechniqueDeLaStructure),
    structureName: text(a.raisonSocialeSite),
    finess: text(a.numeroFinessSite),
    legalFiness: text(a.numeroFinessetablissementJuridique),
    siret: text(a.numeroSiretSite),
    siren: text(a.numeroSirenSite),
  });
}

function readExercice(v: unknown): PscProfession | null {
  const e = record(v);
  const code = e && text(e.codeProfession);
  if (!e || !code) return null;
  return withoutEmpty({
    code,
    category: text(e.codeCategorieProfessionnelle),
    civility: text(e.codeCiviliteDexercice),
    familyName: text(e.nomDexercice),
    givenName: text(e.prenomDexercice),
    expertiseType: text(e.codeTypeSavoirFaire),
    expertise: text(e.codeSavoirFaire),
    activities: list(e.activities)
      .map(readActivity)
      .filter((a): a is PscActivity => a !== null),
  });
}

/** SubjectRefPro as an object (PSC sends an object; a JSON string is accepted). */
function refPro(v: unknown): Record<string, unknown> | undefined {
  if (typeof v === 'string') {
    try {
      return record(JSON.parse(v));
    } catch {
      return undefined;
    }
  }
  return record(v);
}

/** Professions from SubjectRole ("10^1.2.250.1.213.1.1.5.5"), when SubjectRefPro gives none. */
function professionsFromRoles(v: unknown): PscProfession[] {
  const roles = typeof v === 'string' ? [v] : list(v);
  const codes = roles.map((r) => text(typeof r === 'string' ? r.split('^')[0] : undefined)).filter((c): c is string => !!c);
  return [...new Set(codes)].map((code) => ({ code, activities: [] }));
}

/**
 * The professional described by PSC userinfo claims, or null when they carry no national identifier
 * (SubjectNameID) or no subject: such a login is refused.
 */
export function readProfessional(claims: Record<string, unknown>, acr?: string): PscProfessional | null {
  const nationalId = text(claims.SubjectNameID);
  const sub = text(claims.sub);
  if (!nationalId || !sub) return null;
  const ref = refPro(claims.SubjectRefPro);
  let professions = list(ref?.exercices)
    .map(readExercice)
    .filter((p): p is PscProfession => p !== null);
  if (professions.length === 0) professions = professionsFromRoles(claims.SubjectRole);
  const first = professions[0];
  return withoutEmpty({
    nationalId,
    ...readNationalId(nationalId),
    familyName: text(claims.family_name) ?? first?.familyName,
    givenName: text(claims.given_name) ?? first?.givenName,
    professions,
    sub,
    acr,
    claims,
  });
}

/** Whether the allow-lists let a professional in (empty lists: everyone). */
export function isAllowed(p: PscProfessional, allow: PscAllowList): boolean {
  if (allow.nationalIds.length > 0 && !allow.nationalIds.includes(p.nationalId)) return false;
  if (allow.professions.length > 0 && !p.professions.some((x) => allow.professions.includes(x.code))) return false;
  return true;
}
