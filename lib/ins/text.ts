// Text values of an HL7 v2 message as the identity rules read them.

/**
 * The HL7 null: `""` in a field says "delete this value" (HL7 v2.5 §2.5.3; PAM FR 2.11.1 §6.6.2 gives
 * `""^Orianne^^^^^D` for a used name that no longer exists). It is never a value: not a name, not an id.
 */
export const HL7_NULL = '""';

/** A value read from a message: the HL7 null and surrounding blanks give ''. */
export function valueOf(raw: string | undefined): string {
  const v = (raw ?? '').trim();
  return v === HL7_NULL ? '' : v;
}

/**
 * The first control character of a value, as 4 hex digits, or null: C0 controls (U+0000–U+001F, tab,
 * line feed and carriage return included), DEL and C1 controls (U+007F–U+009F). None of them belongs in an
 * identity trait, and most cannot be written in a CDA (XML 1.0) at all.
 */
export function controlCharacter(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return c.toString(16).toUpperCase().padStart(4, '0');
  }
  return null;
}
