// Identities recorded by release 0.1 (statuses QUAL / RECUP, the INS kept whatever the status) read
// again under IHE PAM FR 2.11.1, for the schema 3 migration of the store.
import { qualificationGaps, type PatientIdentity } from '../ins';

/**
 * Release 0.1 read PID-32 against a table with QUAL and RECUP, which PAM FR's table 0445 does not have
 * (§6.6.15). Its identities are rewritten as PAM FR 2.11 says a GAM sends them:
 * - QUAL (qualified) → VALI, the status that carries a qualified identity (§6.6.1);
 * - RECUP (recovered: INS from INSi, identity not checked) → PROV: a recovered identity is sent as PROV,
 *   without its INS (§4.4.4);
 * - then qualificationGaps decides again: the INS stays only on a qualified identity (VALI, valid INS,
 *   every trait, no DOUT/FICT…). So a VALI with its INS and every trait, which 0.1 did not count as
 *   qualified, now is; a PROV, VALI without traits or QUAL with FICT loses its INS (still in the history).
 */
export function migrateIdentity(old: PatientIdentity): { patient: PatientIdentity; changed: boolean; insRemoved: boolean; why: string } {
  const status = old.status === 'QUAL' ? 'VALI' : old.status === 'RECUP' ? 'PROV' : old.status;
  const rest = { ...old, status, attributes: old.attributes ?? [] };
  const gaps = old.ins ? qualificationGaps(rest, old.ins) : [];
  const qualified = old.ins !== null && old.ins !== undefined && gaps.length === 0;
  const patient: PatientIdentity = { ...rest, ins: qualified ? old.ins : null, qualified };
  const insRemoved = !!old.ins && !qualified;
  const changed = status !== old.status || qualified !== old.qualified || insRemoved;
  const why = [
    status !== old.status ? `${old.status} is not in PAM FR table 0445: ${status}` : '',
    insRemoved ? `INS removed: ${gaps.map((g) => g.text).join('; ')}` : '',
    qualified && !old.qualified ? 'qualified under PAM FR 2.11 (VALI with its INS and every trait)' : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { patient, changed, insRemoved, why };
}
