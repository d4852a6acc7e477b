// ProSanté Connect (PSC): the values of the référentiel this pack relies on, each with where it comes
// from. PSC is the national OpenID Connect provider of the ANS for health professionals (CPS card or
// the e-CPS app). Everything here can be overridden in the psc-config node: the référentiel moves and
// the sandbox and production platforms are separate.
//
// Sources (public), as known when this was written — the machine that built it had no internet access,
// so none of these values was re-read from the live platforms; README.md says which come from where:
// - ANS, ProSanté Connect technical documentation for integrators (industriels.esante.gouv.fr, espace
//   ProSanté Connect) and the PSC sandbox ("bac à sable", BAS) it describes;
// - ansforge/keycloak-prosanteconnect (the ANS's Keycloak identity-provider for PSC: the issuers, scope
//   `scope_all`, acr_values `eidas1` and the ID token's acr checked against it, userinfo as a signed JWT);
// - ansforge/PSC-POC and ansforge/IG-securisation-transport-api-rest (the ANS's sample integrations:
//   authorization code flow with state, nonce and PKCE, the SubjectNameID / SubjectRefPro claims,
//   logout through end_session_endpoint with id_token_hint).

/**
 * Issuers (OpenID Connect discovery at `<issuer>/.well-known/openid-configuration`): the PSC sandbox
 * ("BAS", for integration tests with test CPS / e-CPS) and production ("ESW"). Frozen; a site-specific
 * issuer is set in the psc-config node.
 */
export const PSC_ISSUERS = Object.freeze({
  sandbox: 'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet',
  production: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet',
} as const);

export type PscPlatform = keyof typeof PSC_ISSUERS;

/** The scopes PSC asks a client to request: `openid` and `scope_all` (every PSC claim). */
export const PSC_SCOPE = 'openid scope_all';

/** The authentication level PSC asks a client to request (acr_values) and to check in the ID token. */
export const PSC_ACR = 'eidas1';

/** PSC signs its ID tokens (and its userinfo JWTs) with RS256. */
export const PSC_SIGNING_ALG = 'RS256';
