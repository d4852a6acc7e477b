import { strict as assert } from 'node:assert';
import {
  accessSummary,
  ackSummary,
  alertSummary,
  decisionSummary,
  documentSummary,
  exportSummary,
  identitySummary,
  insPart,
  journeySummary,
  MAX_SUMMARY,
  receivedSummary,
  reportSummary,
  sentSummary,
  summaryLine,
} from '../../nodes/shared/summary';

describe('msg.summary (nodes/shared/summary.ts)', () => {
  it('issue 12: an identity recorded reads "A28 · IPP 000003 · INS qualifiée · AA"', () => {
    const patient = { ipp: { id: '000003', authority: 'HOP', oid: '1.2.3' }, qualified: true, status: 'VALI', birthName: 'MARTIN', birthDate: '19800101', ins: { value: '180017512345678' } };
    assert.equal(identitySummary('A28', patient, 'AA'), 'A28 · IPP 000003 · INS qualifiée · AA');
  });

  it('the INS status, never the INS: qualified, not qualified with its PID-32 status, none', () => {
    assert.equal(insPart({ qualified: true, status: 'VALI' }), 'INS qualifiée');
    assert.equal(insPart({ qualified: false, status: 'PROV' }), 'INS non qualifiée (PROV)');
    assert.equal(insPart({ qualified: false, status: '' }), 'INS non qualifiée');
    assert.equal(insPart(null), null);
    assert.equal(identitySummary('', null, 'AR'), 'ADT · AR', 'a message not read: its answer');
  });

  it('one line, empty parts left out, cut at MAX_SUMMARY', () => {
    assert.equal(summaryLine('A', null, '', undefined, false, ' B\n C '), 'A · B C');
    const long = summaryLine('x'.repeat(500));
    assert.equal(long.length, MAX_SUMMARY);
    assert.ok(long.endsWith('…'));
  });

  it('mllp-in and mllp-out: the event, MSH-10, the application or the address, the ACK', () => {
    assert.equal(receivedSummary({ type: 'ADT', event: 'A28', controlId: 'MSG1', sendingApplication: 'GAM^1.2.3^ISO' }), 'ADT^A28 · MSH-10 MSG1 · from GAM');
    assert.equal(sentSummary({ type: 'MDM', event: 'T02' }, { code: 'AA', controlId: 'C9' }, '127.0.0.1:2590'), 'MDM^T02 · MSH-10 C9 · AA · to 127.0.0.1:2590');
    assert.equal(sentSummary(null, { code: 'CA' }, 'pfi:1'), 'HL7 · CA · to pfi:1');
  });

  it('cda-ingest: where the report went and why, the ACK', () => {
    assert.equal(
      reportSummary({ transport: { type: 'ORU', event: 'R01', controlId: 'LAB7' }, typeCode: '11490-0', ipp: { id: '000003' }, outcome: 'preselected', why: 'INS', archive: 'archived', ack: 'AA' }),
      'ORU^R01 · MSH-10 LAB7 · 11490-0 · IPP 000003 · preselected (INS) · archived · AA',
    );
    assert.equal(reportSummary({ outcome: 'reconcile', why: 'unknown-patient', ack: 'AE' }), 'CDA · to reconcile (unknown-patient) · AE');
    assert.equal(reportSummary({ transport: { type: 'MDM', event: 'T02' }, outcome: 'rejected', why: 'NOT_CDA', ack: 'AR' }), 'MDM^T02 · rejected (NOT_CDA) · AR');
  });

  it('pdf-to-cda-n1: the CDA produced, then its message to the PFI', () => {
    const d = { typeCode: '11490-0', version: 2, action: 'replace', ipp: { id: '000003' }, insIncluded: true };
    assert.equal(documentSummary({ ...d, archived: true }), 'CDA 11490-0 v2 · replace · IPP 000003 · INS qualifiée · archived');
    assert.equal(documentSummary({ ...d, action: 'new', insIncluded: false, carrier: { event: 'MDM^T02', controlId: 'X1' } }), 'MDM^T02 · MSH-10 X1 · 11490-0 v2 · IPP 000003 · sans INS');
  });

  it('pfi-ack, portability-export, psc-auth', () => {
    assert.equal(journeySummary('ZAM^Z01', { step: 'dmp-received', ok: true, controlId: 'X1', documents: ['a'] }), 'ZAM^Z01 · MSH-10 X1 · dmp-received · 1 document');
    assert.equal(journeySummary('ACK AE', { step: 'ack', ok: false, controlId: 'X1', documents: [] }), 'ACK AE · MSH-10 X1 · ack failed · 0 documents');
    assert.equal(ackSummary('ZAM^Z01', 'Z7', 'AA'), 'ACK of ZAM^Z01 · MSH-10 Z7 · AA');
    assert.equal(exportSummary({ exportId: 'e1', kind: 'patient', patients: 1, documents: 6, bytes: 184332 }), 'EXPORT e1 · patient · 1 patient · 6 documents · 184,332 bytes');
    assert.equal(accessSummary('GET', '/x', { allowed: true, via: 'session' }), 'PSC · GET /x · allowed (session)');
    assert.equal(accessSummary('GET', '/x', { allowed: false, status: 401, code: 'no-session' }), 'PSC · GET /x · refused 401 no-session');
  });

  it('issue 14: reconcile-out and segur-monitor — the decision (the IPP id, never its authority) and the alert', () => {
    assert.equal(decisionSummary({ taskId: 12, status: 'attached', ipp: '1.2.250.1.999.1.1|123456', by: 'console:alice' }), 'reconciliation · task 12 · attached · IPP 123456 · by console:alice');
    assert.equal(decisionSummary({ taskId: 13, status: 'rejected', ipp: null, by: 'console:bob' }), 'reconciliation · task 13 · rejected · by console:bob');
    assert.equal(alertSummary({ rule: 'queue-depth', state: 'raised', text: '12 message(s) waiting in PFI, threshold 10' }), 'ALERT raised · queue-depth · 12 message(s) waiting in PFI, threshold 10');
  });
});
