// ProSanté Connect (PSC) for the layer's external endpoints: OpenID Connect authorization code flow
// with PKCE, eIDAS level checked, PSC claims read, server-side sessions in sealed cookies, bearer
// tokens for API clients, logout at PSC. No Node-RED here (nodes/psc-config, nodes/psc-auth).
export { EIDAS_LEVELS, acrRank, isEidasLevel, meetsAcr, type EidasLevel } from './acr';
export { createRelyingParty, type PscRelyingParty, type PscSecrets } from './assemble';
export { BearerCache } from './bearer';
export { PscClient, type BearerCheck, type ClientAuthMethod, type PscClientOptions, type PscTlsOptions, type UserinfoFormat } from './client';
export { PscGate, type GateOptions, type GateOutcome, type GateRequest, type GateStep } from './gate';
export { LOGIN_TTL_MS, UsedStates, loginCookieName, newLogin, readLogin, type LoginTransaction } from './login';
export { isAllowed, readNationalId, readProfessional, type PscAllowList, type PscProfession, type PscProfessional } from './professional';
export { PSC_ACR, PSC_ISSUERS, PSC_SCOPE, PSC_SIGNING_ALG } from './referentiel';
export { PscRefusal, REFUSALS, isRefusal, safeDetail, type RefusalCode } from './refusals';
export { safeReturnPath } from './return-path';
export { Sealer } from './seal';
export { SessionStore, type PscSession } from './sessions';
export { CLIENT_AUTH_METHODS, expandEnv, isLoopback, readSettings, type PscSettings, type PscSettingsInput } from './settings';
