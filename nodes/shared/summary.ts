// msg.summary: one line per output message, for the debug pane and the status of a debug node (issue 12),
// in the form of "A28 · IPP 000003 · INS qualifiée · AA": what came or went (the HL7 event, the document
// type, the export), the identifiers the layer's operators look things up by (IPP, MSH-10, document type,
// export id), the identity's INS status and the answer. Never a name, a birth date or place, an address nor
// the INS itself: the line is shown to whoever opens the editor and copied into tickets.
// Pure functions; the node adapters call them. Words are short English, the INS status as the RNIV says it.

/** Between the parts of a summary. */
export const SEP = ' · ';
/** A summary longer than this is cut (with …): one line of the debug pane. */
export const MAX_SUMMARY = 160;

type Part = string | null | undefined | false;

/** The parts given, empty ones left out, on one line. */
export function summaryLine(...parts: Part[]): string {
  const text = parts
    .filter((p): p is string => typeof p === 'string' && p.trim() !== '')
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .join(SEP);
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}

/** "IPP 000003" (the id only, never its authority). */
export function ippPart(ipp: { id?: string } | null | undefined): string | null {
  return ipp?.id ? `IPP ${ipp.id}` : null;
}

/** The identity's INS status — "INS qualifiée", "INS non qualifiée (PROV)" — never the INS. */
export function insPart(identity: { qualified?: boolean; status?: string } | null | undefined): string | null {
  if (!identity) return null;
  if (identity.qualified) return 'INS qualifiée';
  return identity.status ? `INS non qualifiée (${identity.status})` : 'INS non qualifiée';
}

/** "ADT^A28" from a header (MSH-9.1^MSH-9.2), or what is known of it. */
export function eventPart(h: { type?: string; event?: string } | null | undefined): string | null {
  if (!h) return null;
  if (h.type && h.event) return `${h.type}^${h.event}`;
  return h.type || h.event || null;
}

/** "MSH-10 MSG00012". */
export function controlPart(controlId: string | null | undefined): string | null {
  return controlId ? `MSH-10 ${controlId}` : null;
}

/** "ERROR <code>", what a Catch node receives with the message. */
export function errorPart(code: string | null | undefined): string {
  return code ? `ERROR ${code}` : 'ERROR';
}

/** The first component of an HL7 field in ER7 ("GAM^1.2.3^ISO" → "GAM"). */
function firstComponent(v: string | null | undefined): string {
  return (v ?? '').split('^')[0];
}

/** mllp-in: the message received — "ADT^A28 · MSH-10 MSG00012 · from GAM". */
export function receivedSummary(h: { type?: string; event?: string; controlId?: string; sendingApplication?: string }): string {
  const from = firstComponent(h.sendingApplication);
  return summaryLine(eventPart(h), controlPart(h.controlId), from && `from ${from}`);
}

/** mllp-out: the message sent and its ACK — "MDM^T02 · MSH-10 X · AA · to 10.0.0.5:2590". */
export function sentSummary(h: { type?: string; event?: string } | null, ack: { code: string; controlId?: string }, to: string): string {
  return summaryLine(eventPart(h) ?? 'HL7', controlPart(ack.controlId), ack.code, to && `to ${to}`);
}

/** adt-to-ins, both outputs: "A28 · IPP 000003 · INS qualifiée · AA". */
export function identitySummary(event: string | null | undefined, patient: { ipp?: { id?: string }; qualified?: boolean; status?: string } | null | undefined, ack: string): string {
  return summaryLine(event || 'ADT', ippPart(patient?.ipp), insPart(patient), ack);
}

/** cda-ingest: where a report went — "ORU^R01 · MSH-10 LAB7 · 11490-0 · IPP 000003 · preselected (INS) · archived · AA". */
export function reportSummary(r: {
  transport?: { type?: string; event?: string; controlId?: string } | null;
  typeCode?: string | null;
  ipp?: { id?: string } | null;
  outcome: 'preselected' | 'reconcile' | 'rejected';
  /** the match method, or the rejection's code */
  why?: string | null;
  /** what the archive did: archived, duplicate, deleted, no-store… */
  archive?: string | null;
  ack?: string | null;
}): string {
  const outcome = r.outcome === 'reconcile' ? 'to reconcile' : r.outcome;
  return summaryLine(eventPart(r.transport) ?? 'CDA', controlPart(r.transport?.controlId), r.typeCode, ippPart(r.ipp), r.why ? `${outcome} (${r.why})` : outcome, r.archive, r.ack);
}

/** pdf-to-cda-n1: the CDA produced (output 1) and its message to the PFI (output 2). */
export function documentSummary(d: {
  typeCode: string;
  version?: number | null;
  action?: string;
  ipp?: { id?: string } | null;
  insIncluded?: boolean;
  archived?: boolean;
  /** output 2: the message carrying it */
  carrier?: { type?: string; event?: string; controlId?: string };
}): string {
  const doc = `${d.carrier ? '' : 'CDA '}${d.typeCode}${d.version ? ` v${d.version}` : ''}`;
  return summaryLine(
    d.carrier && eventPart(d.carrier),
    d.carrier && controlPart(d.carrier.controlId),
    doc,
    d.action && d.action !== 'new' ? d.action : null,
    ippPart(d.ipp),
    d.insIncluded === undefined ? null : d.insIncluded ? 'INS qualifiée' : 'sans INS',
    !d.carrier && d.archived ? 'archived' : null,
  );
}

/** pfi-ack: a step of the documents' journey — "ZAM^Z01 · MSH-10 X · dmp-received · 1 document". */
export function journeySummary(what: string, j: { step: string; ok: boolean; controlId: string; documents: string[] }): string {
  const n = j.documents.length;
  return summaryLine(what, controlPart(j.controlId), `${j.step}${j.ok ? '' : ' failed'}`, `${n} document${n === 1 ? '' : 's'}`);
}

/** An acknowledgement a node builds for what it received: "ACK of ZAM^Z01 · MSH-10 X · AA". */
export function ackSummary(of: string | null, controlId: string | null | undefined, code: string): string {
  return summaryLine(of ? `ACK of ${of}` : 'ACK', controlPart(controlId), code);
}

/** portability-export: "EXPORT 0b9c… · patient · 1 patient · 6 documents · 184,332 bytes". */
export function exportSummary(r: { exportId: string; kind?: string; patients: number; documents: number; bytes: number }): string {
  const plural = (n: number, w: string) => `${n.toLocaleString('en-US')} ${w}${n === 1 ? '' : 's'}`;
  return summaryLine(`EXPORT ${r.exportId}`, r.kind, plural(r.patients, 'patient'), plural(r.documents, 'document'), `${r.bytes.toLocaleString('en-US')} bytes`);
}

/** psc-auth: "PSC · GET /segur-dpi/portabilite/export · allowed (session)" or "… · refused 401 no-session". */
export function accessSummary(method: string, path: string, outcome: { allowed: true; via: string } | { allowed: false; status: number; code: string }): string {
  return summaryLine('PSC', `${method} ${path}`, outcome.allowed ? `allowed (${outcome.via})` : `refused ${outcome.status} ${outcome.code}`);
}

/** reconcile-out: a worklist decision — "reconciliation · task 12 · attached · IPP 123456 · by console:alice". */
export function decisionSummary(d: { taskId: number | string; status: string; ipp: string | null; by: string | null }): string {
  // the decision names an IPP key ("<authority>|<id>"): its id only, as ippPart
  const id = d.ipp ? d.ipp.slice(d.ipp.lastIndexOf('|') + 1) : '';
  return summaryLine('reconciliation', `task ${d.taskId}`, d.status, id && `IPP ${id}`, d.by && `by ${d.by}`);
}

/** segur-monitor: an alert raised or cleared — "ALERT raised · ae-rate · 12 AE/AR of 40 answers (30 %), threshold 5 %". */
export function alertSummary(a: { rule: string; state: string; text: string }): string {
  return summaryLine(`ALERT ${a.state}`, a.rule, a.text);
}
