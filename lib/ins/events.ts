// The ADT trigger events of IHE PAM FR 2.11.1 and what each asks of the identity registry.

export type AdtAction =
  /** record the identity of the PID */
  | 'update'
  /** A40: MRG-1's IPP is merged into the PID's */
  | 'merge'
  /** A47 with an IPP in MRG-1: the patient's IPP becomes the PID's (§4.1) */
  | 'change-id'
  /** A47 with an INS in MRG-1: the patient holding that INS gets the PID's INS, or none (§4.4.2–§4.4.4) */
  | 'change-ins'
  /** A24 / A37: link or unlink the two PIDs */
  | 'link'
  | 'unlink'
  /** nothing to record */
  | 'none';

/**
 * The events a GAM sends, from the PAM FR text:
 * - ITI-30 (§2.1, the events "obligatoires" with the Merge option): A28 create, A31 update, A47 change
 *   of an identifier (and of the INS, §4.4), A40 merge; the Link/Unlink option: A24, A37;
 * - ITI-31 (§2.2 and §5.3.2): A01/A11, A04, A03/A13, A05/A38, A06/A07, A02/A12, A54/A55, A21/A52,
 *   A22/A53, A44 and Z99 (correction); Pending Event Management (option): A14/A27, A15/A26, A16/A25;
 *   Temporary Patient Transfer Tracking (option): A09, A10, A32, A33; A49 (change of account number,
 *   §5.1.2). Their PID carries the patient's identity, which is recorded (the encounter is not kept here).
 */
export const ADT_EVENT_ACTIONS: Readonly<Record<string, Exclude<AdtAction, 'none'>>> = Object.freeze({
  ...Object.fromEntries(
    [
      ['A28', 'A31'],
      ['A01', 'A11', 'A04', 'A03', 'A13', 'A05', 'A38', 'A06', 'A07', 'A02', 'A12', 'A54', 'A55', 'A21', 'A52', 'A22', 'A53', 'A44', 'A49', 'Z99'],
      ['A14', 'A27', 'A15', 'A26', 'A16', 'A25'],
      ['A09', 'A10', 'A32', 'A33'],
    ]
      .flat()
      .map((e) => [e, 'update' as const]),
  ),
  A40: 'merge',
  A47: 'change-id',
  A24: 'link',
  A37: 'unlink',
});

/**
 * ADT events that PAM FR keeps out, answered AA with "nothing to record": A08, because "la mise à jour
 * d'information démographique est réalisée exclusivement par l'événement A31" (§2.2); Z80–Z89, removed by
 * CP-ITI-FR-2013-079 (§8.5.7.4) and replaced by A02 with ZBE-9. Any other ADT event (A00–A99, Z00–Z99)
 * is answered the same way, with a warning naming it.
 */
export const NOT_APPLIED_EVENTS: Readonly<Record<string, string>> = Object.freeze({
  A08: 'PAM FR updates the identity by A31 only (§2.2)',
  ...Object.fromEntries(
    ['Z80', 'Z81', 'Z82', 'Z83', 'Z84', 'Z85', 'Z86', 'Z87', 'Z88', 'Z89'].map((e) => [e, 'removed from PAM FR (CP-ITI-FR-2013-079): A02 with ZBE-9 replaces it']),
  ),
});

/** What happens to an ADT event code: applied (its action), answered without recording (why), or unknown (null). */
export function eventRule(event: string): { action: Exclude<AdtAction, 'none'> } | { notApplied: string } | null {
  if (Object.hasOwn(ADT_EVENT_ACTIONS, event)) return { action: ADT_EVENT_ACTIONS[event] };
  if (Object.hasOwn(NOT_APPLIED_EVENTS, event)) return { notApplied: NOT_APPLIED_EVENTS[event] };
  if (/^[AZ]\d\d$/.test(event)) return { notApplied: 'not an event of PAM FR ITI-30 or ITI-31' };
  return null;
}
