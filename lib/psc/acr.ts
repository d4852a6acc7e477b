// Authentication levels (the ID token's `acr`): the eIDAS ladder as PSC and FranceConnect name it —
// eidas1 < eidas2 < eidas3. PSC authenticates CPS cards and the e-CPS app at eidas1 (the level its
// référentiel asks a client to request and to require); a higher level satisfies a lower minimum;
// any other value (missing, unknown, a level below eidas1) satisfies none.

/** The eIDAS levels, lowest first. Frozen. */
export const EIDAS_LEVELS = Object.freeze(['eidas1', 'eidas2', 'eidas3'] as const);

export type EidasLevel = (typeof EIDAS_LEVELS)[number];

/** Whether a value is one of the eIDAS levels. */
export function isEidasLevel(value: unknown): value is EidasLevel {
  return typeof value === 'string' && (EIDAS_LEVELS as readonly string[]).includes(value);
}

/** The rank of an acr on the ladder (0 = eidas1), -1 when it is not an eIDAS level. */
export function acrRank(acr: unknown): number {
  return isEidasLevel(acr) ? EIDAS_LEVELS.indexOf(acr) : -1;
}

/** Whether an acr (from an ID token, an introspection response) reaches the minimum level. */
export function meetsAcr(acr: unknown, minimum: EidasLevel): boolean {
  const got = acrRank(acr);
  return got >= 0 && got >= acrRank(minimum);
}
