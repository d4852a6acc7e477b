// Sealed values for cookies: an encrypted and authenticated JWT (JWE compact, "dir" + A256GCM, with
// jose) carrying an expiry. A sealed value cannot be read nor changed without the key; a changed,
// truncated, expired or foreign one opens to nothing. One key per purpose (session, login), derived
// with HKDF-SHA256 from the configuration's secret, so that a value sealed for one purpose never opens
// for another.
import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';

export type SealPurpose = 'session' | 'login';

/** Derives the 256-bit key of a purpose from a secret (at least 32 bytes). */
function deriveKey(secret: Uint8Array, purpose: SealPurpose): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'node-red-contrib-segur-dpi/psc', `cookie:${purpose}`, 32));
}

export class Sealer {
  private readonly key: Uint8Array;

  /**
   * @param secret at least 32 bytes (a random value kept in the psc-config node's credentials, or
   *   generated when Node-RED starts)
   */
  constructor(
    secret: Uint8Array,
    private readonly purpose: SealPurpose,
  ) {
    if (secret.byteLength < 32) throw new Error('the cookie secret must be at least 32 bytes');
    this.key = deriveKey(secret, purpose);
  }

  /** Seals a payload until `expiresAt` (ms since the epoch). */
  seal(payload: Record<string, unknown>, expiresAt: number, now = Date.now()): Promise<string> {
    return new EncryptJWT({ ...payload, purpose: this.purpose })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .encrypt(this.key);
  }

  /** The payload of a sealed value, or null when it is not one of ours, was changed, or has expired. */
  async open(sealed: unknown, now = Date.now()): Promise<JWTPayload | null> {
    if (typeof sealed !== 'string' || sealed.length === 0 || sealed.length > 4096) return null;
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        currentDate: new Date(now),
        clockTolerance: 0,
      });
      return payload.purpose === this.purpose ? payload : null;
    } catch {
      return null;
    }
  }
}
