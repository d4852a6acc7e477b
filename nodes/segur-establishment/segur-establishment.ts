// segur-establishment: configuration node holding what the establishment configures once — its OIDs,
// FINESS, name, address, telecom, time zone, default facility type and practice setting, the HL7
// application and facility names of the messages to the PFI — for the nodes that produce documents
// (pdf-to-cda-n1) or exports (portability-export). The mapping and the checks are in
// nodes/shared/establishment.ts; this node runs them once at deploy and logs what is wrong.
import type { Node, NodeAPI, NodeDef } from '../shared/red';
import {
  DEFAULT_TIME_ZONE,
  establishmentProblems,
  establishmentSettings,
  exportProducer,
  missingForCda,
  type EstablishmentFields,
  type EstablishmentNode,
} from '../shared/establishment';
import { HEALTHCARE_FACILITY_TYPES, PRACTICE_SETTINGS } from '../../lib/cda';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The code lists and time zones the edit dialog offers (GET segur-establishment/codes). */
function editorLists() {
  const pick = (rows: readonly { code: string; displayName: string }[]) => rows.map((r) => ({ code: r.code, displayName: r.displayName }));
  return {
    facilityTypes: pick(HEALTHCARE_FACILITY_TYPES),
    practiceSettings: pick(PRACTICE_SETTINGS),
    timeZones: Intl.supportedValuesOf('timeZone'),
  };
}

export = function (RED: NodeAPI) {
  function SegurEstablishmentNode(this: Mutable<EstablishmentNode>, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const fields = def as NodeDef & EstablishmentFields;
    const name = typeof fields.name === 'string' ? fields.name.trim() : '';
    const custodian = typeof fields.custodianName === 'string' ? fields.custodianName.trim() : '';
    const finess = typeof fields.custodianFiness === 'string' ? fields.custodianFiness.trim() : '';
    node.label = name || (custodian ? `${custodian}${finess ? ` (${finess})` : ''}` : finess || node.id);
    node.problems = Object.freeze(establishmentProblems(fields));
    node.missingForCda = Object.freeze(missingForCda(fields));
    const settings = establishmentSettings(fields);
    node.timeZone = settings.timeZone ?? DEFAULT_TIME_ZONE;
    const producer = exportProducer(fields.custodianName, fields.custodianFiness);
    // a deep copy each time: msg.settings is merged over it, a node may change what it gets
    node.settings = () => structuredClone(settings);
    node.exportProducer = () => (producer ? { ...producer } : undefined);
    for (const p of node.problems) node.error(new Error(RED._('segur-establishment.errors.problem', { label: node.label, problem: p })));
  }

  RED.nodes.registerType('segur-establishment', SegurEstablishmentNode as unknown as (this: Node, def: NodeDef) => void);
  const lists = editorLists();
  RED.httpAdmin.get('/segur-establishment/codes', RED.auth.needsPermission('segur-establishment.read'), (_req, res) => res.json(lists));
};
