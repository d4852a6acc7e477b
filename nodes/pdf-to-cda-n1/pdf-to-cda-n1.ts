// pdf-to-cda-n1: a CDA R2 level-1 document conforming to the CI-SIS (lib/cda) from a PDF and the
// patient's identity (msg.patient, or msg.ipp looked up in an ins-store), archived in the ins-store
// (lib/store) before anything leaves the node. Output 1: the CDA (UTF-8 XML string); output 2: the same
// document wrapped in an HL7 v2 MDM message for the PFI (T02 new, T10 new version, T04 status change),
// ready for mllp-out. Any failure is a Catch-able error naming the input at fault, never its value, and
// nothing is sent on either output.
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import {
  ALIAS_OF,
  DEFAULT_MAX_PDF_MIB,
  MiB,
  PdfToCdaError,
  configSettings,
  describeBuildError,
  describeValue,
  editorCodes,
  isObject,
  mdmKind,
  mergeSettings,
  pdfBytes,
  redactValues,
  sha256,
  str,
  tsToIso,
  type CdaSummary,
  type PdfToCdaDef,
} from './inputs';
import { CdaBuildError, buildCdaN1Buffer, buildMdm, formatId, parseId, psIdentifier, type CdaMeta, type DocumentInput, type EstablishmentSettings, type MdmKind } from '../../lib/cda';
import { newControlId } from '../../lib/hl7';
import type { PatientIdentity } from '../../lib/ins';
import { ippKey, type DocumentInput as ArchivedDocumentInput, type DocumentPatient, type IdentityStore } from '../../lib/store';

export = function (RED: NodeAPI) {
  function PdfToCdaN1Node(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as PdfToCdaDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const baseSettings = configSettings(config);
    const defaultType = str(config.defaultType) || 'LDL';
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

    const counts = { produced: 0, errors: 0 };
    let lastType = '';
    const statusText = () => RED._('pdf-to-cda-n1.status.counts', { produced: counts.produced, errors: counts.errors, last: lastType || '-' });
    if (storeMissing || storeNode?.openError) node.status({ fill: 'red', shape: 'ring', text: RED._('pdf-to-cda-n1.status.no-store') });

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

    /** For a T10 / T04 with an ins store: the setId and version of the document named, from the archive. */
    const fillFromArchive = async (doc: DocumentInput, kind: MdmKind, settings: EstablishmentSettings): Promise<void> => {
      if (kind === 'T10' && doc.replaces && (doc.replaces.setId === undefined || doc.replaces.version === undefined) && storeNode?.store) {
        const id = formatId(parseId(doc.replaces.id, str(settings.documentIdRoot), 'document.replaces.id', 'settings.documentIdRoot'));
        const prev = await storeNode.store.getDocument(id);
        if (prev) doc.replaces = { ...doc.replaces, setId: doc.replaces.setId ?? prev.setId, version: doc.replaces.version ?? prev.version };
      }
      if (kind === 'T04') {
        if (doc.id === undefined || doc.id === '') throw new PdfToCdaError('MISSING', 'document.id', RED._('pdf-to-cda-n1.errors.t04-id'));
        if ((doc.setId === undefined || doc.version === undefined) && storeNode?.store) {
          const id = formatId(parseId(doc.id, str(settings.documentIdRoot), 'document.id', 'settings.documentIdRoot'));
          const prev = await storeNode.store.getDocument(id);
          if (prev) {
            doc.setId ??= prev.setId;
            doc.version ??= prev.version;
          }
        }
        if (doc.setId === undefined || doc.setId === '') throw new PdfToCdaError('MISSING', 'document.setId', RED._('pdf-to-cda-n1.errors.t04-set-id'));
      }
    };

    const archive = async (store: IdentityStore, bytes: Buffer, pdf: Buffer, meta: CdaMeta, patient: PatientIdentity, doc: DocumentInput, settings: EstablishmentSettings) => {
      const ippOid = str(patient.ipp?.oid) || str(settings.ippAuthorityOid);
      const docPatient: DocumentPatient = {
        ipp: { id: str(patient.ipp?.id), oid: ippOid, ...(str(patient.ipp?.authority) ? { authority: str(patient.ipp.authority) } : {}) },
        ins: meta.insIncluded && patient.ins ? { value: str(patient.ins.value), oid: str(patient.ins.oid) } : null,
        insQualified: meta.insIncluded,
        ...(str(patient.status) ? { status: str(patient.status) } : {}),
        birthName: str(patient.birthName),
        firstNames: str(patient.firstNames),
        firstName: str(patient.firstName),
        usedName: str(patient.usedName),
        birthDate: str(patient.birthDate),
        sex: str(patient.sex),
      };
      const a = doc.author;
      const record: ArchivedDocumentInput = {
        id: formatId(meta.id),
        setId: formatId(meta.setId),
        version: meta.version,
        typeCode: meta.typeCode,
        typeLabel: meta.type.displayName,
        title: meta.title,
        effectiveTime: tsToIso(meta.effectiveTime),
        origin: 'produced',
        replaces: meta.replaces ? formatId(meta.replaces.id) : null,
        ippKey: ippKey(patient.ipp),
        patient: docPatient,
        author: { id: psIdentifier(a.idNat, 'document.author.idNat'), given: str(a.given), family: str(a.family), specialty: str(a.specialty) },
        cda: bytes,
        pdf,
      };
      let added: boolean;
      try {
        added = await store.archiveDocument(record);
      } catch (err) {
        throw new PdfToCdaError('ARCHIVE', 'store', RED._('pdf-to-cda-n1.errors.archive', { error: (err as Error).message }));
      }
      if (!added) {
        // the same id again: fine for the very same bytes (a message sent twice), not for another document
        const held = await store.getDocument(record.id);
        if (!held || held.cdaSha256 !== sha256(bytes)) throw new PdfToCdaError('ARCHIVE', 'document.id', RED._('pdf-to-cda-n1.errors.archive-conflict'));
      }
    };

    const handle = async (msg: NodeMessage): Promise<[NodeMessage, NodeMessage]> => {
      // 1. the inputs
      const pdf = pdfBytes(msg.payload, maxBytes);
      const given = msg.document ?? {};
      if (!isObject(given)) throw new PdfToCdaError('BAD_INPUT', 'msg.document', RED._('pdf-to-cda-n1.errors.bad-document', { type: describeValue(given) }));
      const settings = mergeSettings(baseSettings, msg.settings);
      const kind = mdmKind(msg.mdm, given);
      const store = archiveOn && kind !== 'T04' ? getStore('archive') : null;
      const patient = await resolvePatient(msg);
      const doc = { ...given } as unknown as DocumentInput & { cancel?: unknown };
      delete doc.cancel;
      if (!str(doc.type)) doc.type = defaultType;
      if (typeof doc.replaces === 'string') doc.replaces = { id: doc.replaces };
      await fillFromArchive(doc, kind, settings);

      // 2. the document and its MDM wrapping (a string: buildMdm takes the CDA bytes as they are)
      const { bytes, meta } = await buildCdaN1Buffer({ pdf, patient, document: doc, settings });
      if (requirePdfA && meta.pdfa?.part !== 1) {
        const declared = meta.pdfa ? `PDF/A-${meta.pdfa.part}${meta.pdfa.conformance ?? ''}` : RED._('pdf-to-cda-n1.errors.no-pdfa');
        throw new PdfToCdaError('NOT_PDFA', 'msg.payload', RED._('pdf-to-cda-n1.errors.not-pdfa', { declared }));
      }
      const controlId = newControlId();
      const mdm = buildMdm(bytes, meta, patient, doc, settings, kind, { controlId });

      // 3. archived before anything leaves the node (a withdrawal marks the archived document cancelled)
      if (store) await archive(store, bytes, pdf, meta, patient, doc, settings);
      const withdrawal = kind === 'T04' && !doc.sharing?.confidentialityChange;
      const cancelled = withdrawal && archiveOn && storeNode?.store ? await storeNode.store.cancelDocument(formatId(meta.id)) : false;

      const cda: CdaSummary = {
        id: formatId(meta.id),
        setId: formatId(meta.setId),
        version: meta.version,
        typeCode: meta.typeCode,
        title: meta.title,
        effectiveTime: meta.effectiveTime,
        insIncluded: meta.insIncluded,
        pdfa: meta.pdfa,
        archived: store !== null,
        ...(kind === 'T04' ? { cancelled } : {}),
        warnings: meta.warnings,
      };
      lastType = ALIAS_OF.get(meta.typeCode) ?? meta.typeCode;
      node.debug(`pdf-to-cda-n1: ${cda.id} ${lastType} v${cda.version} MDM^${kind} ${controlId}${cda.archived ? ' archived' : ''}`);

      const out2: NodeMessage = { ...msg, payload: mdm, cda: { ...cda, warnings: [...cda.warnings] }, mdm: { event: kind, controlId } };
      msg.payload = bytes.toString('utf8');
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
          else if (err instanceof CdaBuildError) done(new PdfToCdaError(err.code, err.field, describeBuildError(err)));
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
