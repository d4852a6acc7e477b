// The identity status of IHE PAM FR (PID-32, HL7 table 0445 as France specialises it) and what makes an
// identity qualified, i.e. allowed to carry its INS.

/**
 * HL7 table 0445 "Identity Reliability Code" as IHE PAM FR 2.11.1 §6.6.15 specialises it for France
 * (specs/ihe-pam-fr-2.11.1.txt, page 41), with its "libellé conseillé". There is no QUAL and no RECUP in
 * it: those are FHIR FR Core codes (see FHIR_INS_STATUS). Frozen.
 */
export const TABLE_0445: Readonly<Record<string, string>> = Object.freeze({
  VIDE: 'Identité non encore qualifiée',
  PROV: 'Provisoire',
  VALI: 'Validé',
  DOUB: 'Doublon ou esclave',
  DESA: 'Désactivé',
  DPOT: 'Doublon potentiel',
  DOUA: 'Doublon avéré',
  COLP: 'Collision potentielle',
  COLV: 'Collision validée',
  FILI: 'Filiation',
  CACH: 'Cachée',
  ANOM: 'Anonyme',
  IDVER: 'Identité vérifiée par le patient',
  RECD: 'Reçue d’un autre domaine',
  IDRA: 'Identité rapprochée dans un autre domaine',
  USUR: 'Usurpation',
  HOMD: 'Homonyme détecté',
  HOMA: 'Homonyme avéré',
  INVA: 'Invalidation de l’identité',
  FICT: 'Identité fictive',
  DOUT: 'Identité douteuse',
});

/**
 * The levels of trust among the codes of table 0445, least trusted first. PAM FR §6.6.1: the INS is sent
 * "uniquement si l'identité du patient a été qualifiée au niveau de l'application émettrice, ce qui se
 * traduit par PID.32 = VALI"; §6.6.15: a receiver that gets an INS without VALI "doit intégrer le message
 * mais sans l'INS". §4.4.4 demotes a qualified identity to PROV.
 */
export const STATUS_LEVELS: readonly string[] = Object.freeze(['VIDE', 'PROV', 'VALI']);

/** The codes whose "Commentaires IHE France" (§6.6.15) make them identity attributes: homonyme, fictive, douteuse. */
export const IDENTITY_ATTRIBUTES: readonly string[] = Object.freeze(['HOMA', 'FICT', 'DOUT']);

/**
 * Codes beside which an identity is never counted as qualified: DOUT (douteuse) and FICT (fictive), the
 * attributes the RNIV makes incompatible with a qualified identity; and, because each says the identity
 * itself is in question, DOUB (doublon), DOUA (doublon avéré), COLV (collision validée), DESA (désactivée),
 * INVA (invalidée), USUR (usurpation).
 */
export const NOT_QUALIFIABLE: readonly string[] = Object.freeze(['DOUT', 'FICT', 'DOUB', 'DOUA', 'COLV', 'DESA', 'INVA', 'USUR']);

export interface StatusReading {
  /** The level sent in PID-32: VIDE, PROV or VALI ('' when none was sent). */
  status: string;
  /** Every other PID-32 code, in message order, as sent (upper-cased, each once). */
  attributes: string[];
  /** PID-32 held none of VIDE, PROV, VALI. */
  missing: boolean;
  /** PID-32 held several levels (the least trusted is kept). */
  contradictory: string[];
  /** Codes outside table 0445 (kept among the attributes). */
  unknown: string[];
}

/** Reads the PID-32 repetitions: the level (the least trusted when several are sent) and the other codes. */
export function readStatusCodes(codes: readonly string[]): StatusReading {
  const seen: string[] = [];
  for (const c of codes) {
    const code = c.trim().toUpperCase();
    if (code && !seen.includes(code)) seen.push(code);
  }
  const levels = STATUS_LEVELS.filter((l) => seen.includes(l));
  return {
    status: levels[0] ?? '',
    attributes: seen.filter((c) => !STATUS_LEVELS.includes(c)),
    missing: levels.length === 0,
    contradictory: levels.length > 1 ? levels : [],
    unknown: seen.filter((c) => !Object.hasOwn(TABLE_0445, c)),
  };
}

/**
 * The identity-reliability statuses of FHIR FR Core (2.2.0): value set
 * https://hl7.fr/ig/fhir/core/ValueSet/fr-core-vs-identity-reliability-ins-status, code system
 * https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445 — "les 4 statuts de confiance de l'identité
 * définis par le RNIV [EXI SI 07]", with their displays. Used in the extension
 * https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability (sub-extension
 * identityStatus). Frozen.
 */
export const FHIR_INS_STATUS = Object.freeze({
  system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445',
  extension: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability',
  display: Object.freeze({ PROV: 'Identité provisoire', RECUP: 'Identité récupérée', VALI: 'Identité validée', QUAL: 'Identité qualifiée' }),
});

/**
 * The FHIR FR Core status (FHIR_INS_STATUS) of an identity of this pack. PAM FR has no QUAL: its VALI with
 * the INS kept (a qualified identity) is QUAL there; VALI whose INS was not kept stays VALI (identity
 * checked, INS not retained); PROV stays PROV. VIDE and a missing status have no counterpart (null). RECUP
 * never comes out of a PAM FR message (§4.4.4 sends a recovered identity as PROV, without its INS).
 */
export function fhirInsStatus(status: string, qualified: boolean): 'PROV' | 'VALI' | 'QUAL' | null {
  if (qualified) return 'QUAL';
  if (status === 'VALI') return 'VALI';
  if (status === 'PROV') return 'PROV';
  return null;
}
