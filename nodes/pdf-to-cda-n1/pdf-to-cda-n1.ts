// pdf-to-cda-n1: a CDA R2 level-1 document conforming to the CI-SIS (lib/cda) from a PDF and the
// patient's identity (msg.patient, or msg.ipp looked up in an ins-store), archived in the ins-store
// (lib/store) before anything leaves the node. Output 1: the CDA (UTF-8 XML string); output 2: the same
// document in the HL7 v2 message of the volet "Transmission de documents CDA en HL7 v2" 2.1 for the PFI
// (lib/cda/transmission.ts: MDM^T02 / T10 / T04 or ORU^R01 F / C / D), ready for mllp-out; the store
// records that it was handed over (journey step 'sent'). A deletion of an archived document carries the
// archived bytes. The establishment (OIDs, custodian, HL7 names…) comes from the segur-establishment
// node the node selects, else from the node's own fields (flows written before it); msg.settings
// overrides it per message. Any failure is a Catch-able error naming the input at fault, never its
// value, and nothing is sent on either output.
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { LEGACY_CDA_FIELDS, establishmentSettings, establishmentSource, hasAnyField } from '../shared/establishment';
import {
  ALIAS_OF,
  DEFAULT_MAX_PDF_MIB,
  MiB,
  PdfToCdaError,
  carrierOf,
  describeBuildError,
  describeValue,
  documentAction,
  editorCodes,
  isObject,
  mdmEvent,
  mergeSettings,
  pdfBytes,
  redactValues,
  sha256,
  str,
  transmissionSummary,
  type CdaSummary,
  type PdfToCdaDef,
  type TransmissionSummary,
} from './inputs';
import { archiveRecord, archivedIdentity, archivedMeta } from './archived';
import { CdaBuildError, buildCdaN1Buffer, buildTransmission, formatId, parseId, type Carrier, type CdaMeta, type DocumentAction, type DocumentInput, type EstablishmentSettings } from '../../lib/cda';
import { newControlId } from '../../lib/hl7';
import type { PatientIdentity } from '../../lib/ins';
import { ippKey, type DocumentRecord, type IdentityStore, type JournalEntry, type JournalOf, type JournalOutcome, type JourneyInput } from '../../lib/store';
import { journalNode, journals } from '../shared/journal';

/** A document ready to be carried: its bytes and meta, the identity and document input the message is written from, the PDF to archive. */
interface Carried {
  bytes: Buffer;
  meta: CdaMeta;
  patient: PatientIdentity;
  doc: DocumentInput;
  pdf: Buffer | null;
}

export = function (RED: NodeAPI) {
  function PdfToCdaN1Node(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as PdfToCdaDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    // msg.settings over the establishment; without one, over the node's own fields (flows written before segur-establishment)
    const source = establishmentSource(RED, config.establishment, hasAnyField(config, LEGACY_CDA_FIELDS));
    const baseSettings = source.kind === 'establishment' ? source.node.settings() : establishmentSettings(config);
    const settingsFrom =
      source.kind === 'establishment' ? RED._('pdf-to-cda-n1.where.establishment', { label: source.node.label }) : RED._(`pdf-to-cda-n1.where.${source.kind === 'legacy' ? 'legacy' : 'none'}`);
    const defaultType = str(config.defaultType) || 'LDL';
    const defaultCarrier: Carrier = str(config.carrier).toUpperCase() === 'ORU' ? 'ORU' : 'MDM';
    const requirePdfA = config.requirePdfA === true;
    const archiveOn = config.archive !== false && storeId !== '';
    const maxMib = Number(config.maxPdfSize);
    const maxBytes = (Number.isFinite(maxMib) && maxMib > 0 ? maxMib : DEFAULT_MAX_PDF_MIB) * MiB;

    let storeNode: InsStoreNode | null = null;
    let storeMissing = false;
    if (storeId) {
      const found = RED.nodes.getNode(storeId);
      if (isInsStoreNode(found)) storeNode = found;
      else {
        storeMissing = true;
        node.error(new Error(RED._('pdf-to-cda-n1.errors.no-store-node', { id: storeId })));
      }
    }

    if (source.kind === 'missing') node.error(new Error(RED._('pdf-to-cda-n1.errors.establishment-node-missing', { id: source.id })));

    const counts = { produced: 0, errors: 0 };
    let lastType = '';
    const statusText = () => RED._('pdf-to-cda-n1.status.counts', { produced: counts.produced, errors: counts.errors, last: lastType || '-' });
    if (source.kind === 'none' || source.kind === 'missing' || source.kind === 'invalid') {
      node.status({ fill: 'red', shape: 'ring', text: RED._(`pdf-to-cda-n1.status.establishment-${source.kind}`) });
    } else if (storeMissing || storeNode?.openError) node.status({ fill: 'red', shape: 'ring', text: RED._('pdf-to-cda-n1.status.no-store') });

    /** The settings of a message, or the error saying why there are none: msg.settings over the establishment's. */
    const settingsOf = (msg: NodeMessage): EstablishmentSettings => {
      if (source.kind === 'missing') throw new PdfToCdaError('NO_ESTABLISHMENT', 'establishment', RED._('pdf-to-cda-n1.errors.establishment-node-missing', { id: source.id }));
      if (source.kind === 'invalid') {
        throw new PdfToCdaError('BAD_ESTABLISHMENT', 'establishment', RED._('pdf-to-cda-n1.errors.establishment-invalid', { label: source.node.label, problems: source.node.problems.join('; ') }));
      }
      // no establishment at all: msg.settings alone may still give everything (as before the configuration node)
      if (source.kind === 'none' && (msg.settings === undefined || msg.settings === null)) {
        throw new PdfToCdaError('NO_ESTABLISHMENT', 'establishment', RED._('pdf-to-cda-n1.errors.no-establishment'));
      }
      return mergeSettings(baseSettings, msg.settings);
    };

    /** The open store, or a NO_STORE error saying what needs it. */
    const getStore = (forWhat: string): IdentityStore => {
      if (!storeNode) {
        throw new PdfToCdaError('NO_STORE', 'store', RED._(storeMissing ? 'pdf-to-cda-n1.errors.store-node-missing' : 'pdf-to-cda-n1.errors.no-store', { what: forWhat }));
      }
      try {
        return storeNode.getStore();
      } catch (err) {
        throw new PdfToCdaError('NO_STORE', 'store', RED._('pdf-to-cda-n1.errors.store-unavailable', { what: forWhat, error: (err as Error).message }));
      }
    };

    const resolvePatient = async (msg: NodeMessage): Promise<PatientIdentity> => {
      if (msg.patient !== undefined && msg.patient !== null) {
        if (!isObject(msg.patient)) throw new PdfToCdaError('BAD_INPUT', 'msg.patient', RED._('pdf-to-cda-n1.errors.bad-patient', { type: describeValue(msg.patient) }));
        return msg.patient as unknown as PatientIdentity;
      }
      const ipp = msg.ipp;
      if (ipp === undefined || ipp === null || ipp === '') throw new PdfToCdaError('MISSING', 'msg.patient', RED._('pdf-to-cda-n1.errors.no-patient'));
      let id = '';
      let authority = '';
      if (typeof ipp === 'string') id = ipp.trim();
      else if (isObject(ipp)) {
        id = str(ipp.id);
        authority = str(ipp.oid) || str(ipp.authority);
      } else throw new PdfToCdaError('BAD_INPUT', 'msg.ipp', RED._('pdf-to-cda-n1.errors.bad-ipp', { type: describeValue(ipp) }));
      if (!id) throw new PdfToCdaError('MISSING', 'msg.ipp.id', RED._('pdf-to-cda-n1.errors.no-ipp-id'));
      const found = await getStore('msg.ipp').byIpp(id, authority || undefined);
      if (!found) throw new PdfToCdaError('UNKNOWN_IPP', 'msg.ipp', RED._('pdf-to-cda-n1.errors.unknown-ipp'));
      return found.patient;
    };

    const patientGiven = (msg: NodeMessage) => (msg.patient !== undefined && msg.patient !== null) || (msg.ipp !== undefined && msg.ipp !== null && msg.ipp !== '');

    /** A replacement naming only the id of the replaced document: its setId and version from the archive. */
    const fillReplaced = async (doc: DocumentInput, settings: EstablishmentSettings, reader: IdentityStore | null): Promise<void> => {
      if (!doc.replaces || (doc.replaces.setId !== undefined && doc.replaces.version !== undefined) || !reader) return;
      const id = formatId(parseId(doc.replaces.id, str(settings.documentIdRoot), 'document.replaces.id', 'settings.documentIdRoot'));
      const prev = await reader.getDocument(id);
      if (prev) doc.replaces = { ...doc.replaces, setId: doc.replaces.setId ?? prev.setId, version: doc.replaces.version ?? prev.version };
    };

    /**
     * The document a deletion names (document.id) as the archive holds it, or null. Only a document
     * produced here: a deletion follows a document "envoyé préalablement pour soumission au DMP et/ou pour
     * envoi par MSSanté" (def-proc-collab.md, "Demande de suppression de document(s)", pré-conditions).
     */
    const archivedTarget = async (doc: DocumentInput, settings: EstablishmentSettings, reader: IdentityStore | null): Promise<{ record: DocumentRecord; cda: Buffer } | null> => {
      if (doc.id === undefined || doc.id === '') throw new PdfToCdaError('MISSING', 'document.id', RED._('pdf-to-cda-n1.errors.delete-id'));
      if (!reader) return null;
      const id = formatId(parseId(doc.id, str(settings.documentIdRoot), 'document.id', 'settings.documentIdRoot'));
      const record = await reader.getDocument(id);
      if (!record) return null;
      if (record.origin !== 'produced') throw new PdfToCdaError('INVALID', 'document.id', RED._('pdf-to-cda-n1.errors.delete-received'));
      const content = await reader.documentContent(id);
      return content ? { record, cda: content.cda } : null;
    };

    /** A deletion of an archived document: its bytes as archived, the identity given or the one it was built for. */
    const fromArchive = async (msg: NodeMessage, given: DocumentInput, target: { record: DocumentRecord; cda: Buffer }): Promise<Carried> => {
      const patient = patientGiven(msg) ? await resolvePatient(msg) : archivedIdentity(target.record.patient);
      const a = target.record.author;
      // PRT SB: sharing.sender, else the author given (who asks for the deletion), else the document's author
      const author = given.author ?? (a?.id ? { idNat: a.id, family: a.family ?? '', given: a.given ?? '', specialty: a.specialty ?? '' } : undefined);
      const doc = { type: target.record.typeCode, author, encounter: given.encounter, sharing: given.sharing } as DocumentInput;
      return { bytes: target.cda, meta: archivedMeta(target.record), patient, doc, pdf: null };
    };

    /** A document built from the PDF. */
    const build = async (pdf: Buffer, patient: PatientIdentity, doc: DocumentInput, settings: EstablishmentSettings, action: DocumentAction, reader: IdentityStore | null): Promise<Carried> => {
      if (action === 'delete' && (doc.setId === undefined || doc.setId === '')) throw new PdfToCdaError('MISSING', 'document.setId', RED._('pdf-to-cda-n1.errors.delete-set-id'));
      await fillReplaced(doc, settings, reader);
      const { bytes, meta } = await buildCdaN1Buffer({ pdf, patient, document: doc, settings });
      if (requirePdfA && meta.pdfa?.part !== 1) {
        const declared = meta.pdfa ? `PDF/A-${meta.pdfa.part}${meta.pdfa.conformance ?? ''}` : RED._('pdf-to-cda-n1.errors.no-pdfa');
        throw new PdfToCdaError('NOT_PDFA', 'msg.payload', RED._('pdf-to-cda-n1.errors.not-pdfa', { declared }));
      }
      return { bytes, meta, patient, doc, pdf };
    };

    /**
     * Archives a document and records that it is handed over for the PFI (the journey's first step: the
     * ACK and the ZAM are recorded by the nodes that receive them), with its journal row, in one savepoint.
     * The same id again is fine for the very same bytes (a message sent twice), not for another document.
     */
    const archive = async (store: IdentityStore, c: Carried, settings: EstablishmentSettings, sent: JourneyInput, journal: JournalOf<boolean> | undefined) => {
      const record = archiveRecord(c.bytes, c.pdf as Buffer, c.meta, c.patient, c.doc, settings);
      const stored = async <T>(fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (err) {
          throw new PdfToCdaError('ARCHIVE', 'store', RED._('pdf-to-cda-n1.errors.archive', { error: (err as Error).message }));
        }
      };
      const held = await stored(() => store.getDocument(record.id));
      if (held && held.cdaSha256 !== sha256(c.bytes)) throw new PdfToCdaError('ARCHIVE', 'document.id', RED._('pdf-to-cda-n1.errors.archive-conflict'));
      await stored(() => store.archiveDocument(record, { journey: [sent], ...(journal ? { journal } : {}) }));
    };

    /** A deletion: the archived document marked cancelled, the journey's 'sent' step and the journal row in one savepoint. */
    const cancel = async (store: IdentityStore, id: string, sent: JourneyInput, journal: JournalOf<boolean> | undefined): Promise<boolean> => {
      try {
        return await store.cancelDocument(id, { journey: [sent], ...(journal ? { journal } : {}) });
      } catch (err) {
        throw new PdfToCdaError('ARCHIVE', 'store', RED._('pdf-to-cda-n1.errors.journey', { error: (err as Error).message }));
      }
    };

    /** The journal row of a document produced (or a deletion asked): the message built for the PFI, its keys. */
    const rowOf = (c: Carried, id: string, t: TransmissionSummary, payload: string, outcome: JournalOutcome): JournalEntry => ({
      node: journalNode(node),
      direction: 'out',
      kind: 'document',
      type: t.carrier,
      event: t.event.split('^')[1] ?? null,
      controlId: t.controlId,
      sender: null,
      receiver: null,
      ack: null,
      outcome,
      keys: {
        ipp: c.patient.ipp.id,
        ippKey: ippKey(c.patient.ipp),
        ins: c.meta.insIncluded && c.patient.ins ? c.patient.ins.value : null,
        documentId: id,
        setId: formatId(c.meta.setId),
        version: c.meta.version,
      },
      message: Buffer.from(payload, 'utf8'),
      detail: { action: t.action, typeCode: c.meta.typeCode },
    });

    const handle = async (msg: NodeMessage): Promise<[NodeMessage, NodeMessage]> => {
      // 1. the establishment and the request
      const settings = settingsOf(msg);
      const given = msg.document ?? {};
      if (!isObject(given)) throw new PdfToCdaError('BAD_INPUT', 'msg.document', RED._('pdf-to-cda-n1.errors.bad-document', { type: describeValue(given) }));
      const action = documentAction(msg.action, msg.mdm, given);
      // a deletion of an archived document needs no PDF
      const pdf = action === 'delete' ? null : pdfBytes(msg.payload, maxBytes);
      const carrier = carrierOf(msg.carrier, defaultCarrier);
      const store = archiveOn ? getStore('archive') : null;
      const reader = store ?? storeNode?.store ?? null;
      const doc = { ...given } as unknown as DocumentInput & { cancel?: unknown };
      delete doc.cancel;
      if (!str(doc.type)) doc.type = defaultType;
      if (typeof doc.replaces === 'string') doc.replaces = { id: doc.replaces };

      // 2. the document (built, or the archived one a deletion names) and its message
      const target = action === 'delete' ? await archivedTarget(doc, settings, reader) : null;
      const c = target ? await fromArchive(msg, doc, target) : await build(pdf ?? pdfBytes(msg.payload, maxBytes), await resolvePatient(msg), doc, settings, action, reader);
      const controlId = newControlId();
      const payload = buildTransmission(carrier, action, c.bytes, c.meta, c.patient, c.doc, settings, { controlId });
      const transmission = transmissionSummary(carrier, action, controlId);

      // 3. archived and recorded before anything leaves the node; a deletion marks the archived document cancelled
      const id = formatId(c.meta.id);
      const sent: JourneyInput = { documentId: id, step: 'sent', controlId, ok: true, detail: { carrier: transmission.carrier, event: transmission.event, action } };
      let row: JournalEntry | null = null;
      const journal = journals(storeNode) ? (done: boolean) => (row = rowOf(c, id, transmission, payload, action === 'delete' ? (done ? 'cancelled' : 'recorded') : done ? 'produced' : 'duplicate')) : undefined;
      if (store && action !== 'delete') await archive(store, c, settings, sent, journal);
      const cancelled = action === 'delete' && store ? await cancel(store, id, sent, journal) : false;
      const journalId = (row as JournalEntry | null)?.id ?? null;

      const cda: CdaSummary = {
        id,
        setId: formatId(c.meta.setId),
        version: c.meta.version,
        typeCode: c.meta.typeCode,
        title: c.meta.title,
        effectiveTime: c.meta.effectiveTime,
        insIncluded: c.meta.insIncluded,
        pdfa: c.meta.pdfa,
        archived: store !== null && action !== 'delete',
        ...(action === 'delete' ? { cancelled } : {}),
        warnings: c.meta.warnings,
      };
      lastType = ALIAS_OF.get(c.meta.typeCode) ?? c.meta.typeCode;
      node.debug(`pdf-to-cda-n1: ${cda.id} ${lastType} v${cda.version} ${transmission.event} ${action} ${controlId}${cda.archived ? ' archived' : ''}${target ? ' (archived bytes)' : ''}`);

      const out2: NodeMessage = { ...msg, payload, cda: { ...cda, warnings: [...cda.warnings] }, transmission };
      // mllp-out links the row of its send to this one
      if (journalId) out2.journalId = journalId;
      else delete out2.journalId;
      // msg.mdm as before msg.transmission, for the MDM carrier only
      if (carrier === 'MDM') out2.mdm = { event: mdmEvent(action), controlId };
      else delete out2.mdm;
      msg.payload = c.bytes.toString('utf8');
      msg.cda = cda;
      return [msg, out2];
    };

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      handle(msg).then(
        (outs) => {
          counts.produced++;
          node.status({ fill: 'green', shape: 'dot', text: statusText() });
          send(outs);
          done();
        },
        (err: unknown) => {
          counts.errors++;
          node.status({ fill: 'red', shape: 'dot', text: statusText() });
          if (err instanceof PdfToCdaError) done(err);
          else if (err instanceof CdaBuildError) done(new PdfToCdaError(err.code, err.field, describeBuildError(err, settingsFrom)));
          else done(new PdfToCdaError('INVALID', 'internal', RED._('pdf-to-cda-n1.errors.internal', { error: redactValues(String((err as Error)?.message ?? err)) })));
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('pdf-to-cda-n1', PdfToCdaN1Node);
  const codes = editorCodes();
  RED.httpAdmin.get('/pdf-to-cda-n1/codes', RED.auth.needsPermission('pdf-to-cda-n1.read'), (_req, res) => res.json(codes));
};
