// segur-establishment (issue 12): the configuration node holding what the establishment sets once, mapped
// in one place (nodes/shared/establishment.ts) to the settings of lib/cda and the producer of lib/export,
// checked at deploy with a text per wrong field; and the editor's checks (resources/segur-dpi-editor.js,
// run here under Node) agreeing with the runtime's on the same values.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import segurEstablishment = require('../../nodes/segur-establishment/segur-establishment');
import { HEALTHCARE_FACILITY_TYPES, PRACTICE_SETTINGS } from '../../lib/cda';
import { CDA_FIELDS, LEGACY_CDA_FIELDS, establishmentProblems, establishmentSettings, hasLegacyExportFields, isEstablishmentNode } from '../../nodes/shared/establishment';
import { withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['segur-establishment'], [segurEstablishment]);
/** The editor's shared script, as the edit dialogs load it (here through module.exports). */
const editor = require(path.resolve(__dirname, '..', '..', '..', 'resources', 'segur-dpi-editor.js'));

/** Every field of a complete establishment, as its edit dialog saves it. */
const FIELDS = {
  custodianName: 'CHU X (fictif)',
  custodianFiness: '690000001',
  custodianStreet: '1 rue des Essais',
  custodianPostalCode: '69000',
  custodianCity: 'LYON',
  custodianTelecom: 'tel:+33400000000',
  timeZone: 'Europe/Paris',
  documentIdRoot: '1.2.250.1.999.1.2.1',
  setIdRoot: '1.2.250.1.999.1.2.2',
  ippAuthorityOid: '1.2.250.1.999.1.1',
  encounterIdRoot: '1.2.250.1.999.1.3',
  defaultFacilityType: 'SA01',
  defaultPracticeSetting: 'ETABLISSEMENT',
  hl7SendingApplication: 'DPI^1.2.250.1.999.1.9^ISO',
  hl7SendingFacility: 'CHU-X',
  hl7ReceivingApplication: 'PFI',
  hl7ReceivingFacility: 'CHU-X',
  hl7ProcessingId: 'T',
};

describe('segur-establishment node', function () {
  this.timeout(20_000);
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  async function load(fields: Record<string, unknown>, name = ''): Promise<Msg> {
    await helper.load(NODES, [{ id: 'est', type: 'segur-establishment', name, ...fields }]);
    const node = helper.getNode('est');
    assert.ok(isEstablishmentNode(node), 'the other nodes recognise it');
    return node;
  }

  const errorsLogged = (): string[] => helper.log().args.filter((a: Msg[]) => a[0].level === helper.log().ERROR).map((a: Msg[]) => String(a[0].msg));

  it('settings(): every field mapped to the EstablishmentSettings of lib/cda (custodian address and telecom, MSH-3…6, processing id); exportProducer() the name and FINESS; no problem logged', async () => {
    const node = await load(FIELDS);
    assert.deepEqual(node.settings(), {
      documentIdRoot: '1.2.250.1.999.1.2.1',
      setIdRoot: '1.2.250.1.999.1.2.2',
      ippAuthorityOid: '1.2.250.1.999.1.1',
      encounterIdRoot: '1.2.250.1.999.1.3',
      defaultFacilityType: 'SA01',
      defaultPracticeSetting: 'ETABLISSEMENT',
      timeZone: 'Europe/Paris',
      custodian: {
        finess: '690000001',
        name: 'CHU X (fictif)',
        address: { streetName: '1 rue des Essais', postalCode: '69000', city: 'LYON' },
        telecom: ['tel:+33400000000'],
      },
      hl7: { sendingApplication: 'DPI^1.2.250.1.999.1.9^ISO', sendingFacility: 'CHU-X', receivingApplication: 'PFI', receivingFacility: 'CHU-X', processingId: 'T' },
    });
    assert.deepEqual(node.exportProducer(), { name: 'CHU X (fictif)', finess: '690000001' });
    assert.equal(node.timeZone, 'Europe/Paris');
    assert.equal(node.label, 'CHU X (fictif) (690000001)');
    assert.deepEqual(node.problems, []);
    assert.deepEqual(node.missingForCda, []);
    assert.deepEqual(errorsLogged(), []);
    // each call a copy: a node that changes what it got changes nobody else's settings
    node.settings().custodian.name = 'changed';
    assert.equal(node.settings().custodian.name, 'CHU X (fictif)');
  });

  it('the same mapping as the old pdf-to-cda-n1 fields: one function for both (flows from before the configuration node give the same settings)', async () => {
    const node = await load(FIELDS);
    assert.deepEqual(node.settings(), establishmentSettings(FIELDS));
    assert.deepEqual([...LEGACY_CDA_FIELDS].every((f) => f in FIELDS), true);
  });

  it('an establishment for exports only (name, FINESS, time zone): valid; what documents need is listed as missing; empty fields left out, Europe/Paris by default', async () => {
    const node = await load({ custodianName: 'Clinique Y (fictive)', custodianFiness: '2A0000001', timeZone: '' }, 'Clinique Y');
    assert.deepEqual(node.problems, []);
    assert.deepEqual(node.missingForCda, [...CDA_FIELDS]);
    assert.equal(node.label, 'Clinique Y');
    assert.equal(node.timeZone, 'Europe/Paris');
    assert.deepEqual(node.settings(), { timeZone: 'Europe/Paris', custodian: { finess: '2A0000001', name: 'Clinique Y (fictive)' }, hl7: {} });
    assert.deepEqual(node.exportProducer(), { name: 'Clinique Y (fictive)', finess: '2A0000001' });
  });

  it('a wrong configuration: one text per field, naming it and saying why, logged at deploy (bad OID, FINESS, telecom, time zone, codes, MSH field, processing id; FINESS and name required)', async () => {
    const node = await load({
      ...FIELDS,
      documentIdRoot: '1.2.250.1.999.1.2.x',
      encounterIdRoot: '1.02.3',
      custodianFiness: '69000001',
      custodianTelecom: '04 72 00 00 00',
      timeZone: 'Europe/Lyon',
      defaultFacilityType: 'SA99',
      defaultPracticeSetting: 'HOPITAL',
      hl7SendingApplication: 'DPI|X',
      hl7ProcessingId: 'Q',
    });
    assert.deepEqual(node.problems, [
      'document id OID (documentIdRoot): "1.2.250.1.999.1.2.x" is not an OID (digits and dots, e.g. 1.2.250.1.999.1.2; 64 characters at most)',
      'encounter id OID (encounterIdRoot): "1.02.3" is not an OID (digits and dots, e.g. 1.2.250.1.999.1.2; 64 characters at most)',
      'FINESS (custodianFiness): "69000001" is not a FINESS number (9 characters: the département, 2 digits or 2A / 2B, then 7 digits)',
      'telecom (custodianTelecom): "04 72 00 00 00" is not a URI with a prefix the CI-SIS allows (tel:, fax:, mailto:, http:, ftp:, mllp:)',
      'time zone (timeZone): "Europe/Lyon" is not an IANA time zone (e.g. Europe/Paris, America/Cayenne, Indian/Reunion)',
      'facility type (defaultFacilityType): "SA99" is not a code of TRE_R02-SecteurActivite (e.g. SA01)',
      'practice setting (defaultPracticeSetting): "HOPITAL" is not a code of TRE_A01-CadreExercice (e.g. ETABLISSEMENT)',
      'MSH-3 sending application (hl7SendingApplication): holds a character that ends an HL7 v2 field (|, ~, \\ or a control character): give the field in ER7 form, components separated by ^',
      'MSH-11 processing id (hl7ProcessingId): "Q" is not P, T or D',
    ]);
    const logged = errorsLogged();
    assert.equal(logged.length, node.problems.length, 'each problem logged once');
    assert.match(logged[0], /establishment CHU X \(fictif\) \(69000001\): document id OID \(documentIdRoot\): .* the nodes that use it refuse their messages until it is fixed$/);

    await helper.unload();
    const empty = await load({});
    assert.deepEqual(empty.problems, ['FINESS (custodianFiness): missing: the FINESS géographique of the establishment', 'establishment name (custodianName): missing']);
  });

  it('a field given as ${NAME} is read from Node-RED\'s environment when the flows start (one flow file for every site)', async () => {
    process.env.SEGUR_DPI_TEST_FINESS = '690000002';
    try {
      const node = await load({ ...FIELDS, custodianFiness: '${SEGUR_DPI_TEST_FINESS}' });
      assert.deepEqual(node.problems, []);
      assert.equal(node.settings().custodian.finess, '690000002');
      assert.deepEqual(node.exportProducer(), { name: 'CHU X (fictif)', finess: '690000002' });
    } finally {
      delete process.env.SEGUR_DPI_TEST_FINESS;
    }
  });

  it('serves the lists of its edit dialog: facility types, practice settings, time zones', async () => {
    await load(FIELDS);
    const res = await helper.request().get('/segur-establishment/codes').expect(200);
    assert.equal(res.body.facilityTypes.length, HEALTHCARE_FACILITY_TYPES.length);
    assert.equal(res.body.practiceSettings.length, PRACTICE_SETTINGS.length);
    assert.ok(res.body.facilityTypes.some((t: Msg) => t.code === 'SA01'));
    assert.ok(['Europe/Paris', 'America/Cayenne', 'Indian/Reunion', 'Pacific/Noumea'].every((z) => res.body.timeZones.includes(z)));
  });
});

describe('the edit dialogs\' checks (resources/segur-dpi-editor.js) agree with the runtime', () => {
  /** Values each field is tried with: valid ones, wrong ones, empty. */
  const SAMPLES: Record<string, string[]> = {
    documentIdRoot: ['1.2.250.1.999.1.2.1', '1.2.250.1.x', '3.1', '1.02', '1', `1.${'2.'.repeat(32)}3`, ''],
    custodianFiness: ['690000001', '2A0000001', '2B1234567', '69000001', '2C0000001', 'ABCDEFGHI', ''],
    custodianName: ['CHU X', '  ', ''],
    custodianTelecom: ['tel:+33400000000', 'mailto:a@b.fr', 'mllp:pfi:2575', '0472000000', 'tel:', ''],
    timeZone: ['Europe/Paris', 'America/Cayenne', 'UTC', 'Europe/Lyon', 'Mars/Olympus', ''],
    hl7SendingApplication: ['DPI^1.2.250.1.999.1.9^ISO', 'A&B', 'DPI|X', 'A~B', 'A\\B', ''],
    hl7ProcessingId: ['P', 'T', 'D', 'Q', ''],
  };

  it('every sample value: the editor marks a field wrong exactly when the runtime reports a problem for it', () => {
    for (const [field, values] of Object.entries(SAMPLES)) {
      for (const value of values) {
        const fields = { ...FIELDS, [field]: value };
        const runtime = establishmentProblems(fields).some((p) => p.includes(`(${field})`));
        const edit = (editor.establishmentProblems(fields) as string[]).includes(field);
        assert.equal(edit, runtime, `${field} = "${value}": editor ${edit ? 'wrong' : 'fine'}, runtime ${runtime ? 'wrong' : 'fine'}`);
      }
    }
  });

  it('${NAME} in any field passes the editor (Node-RED gives its value when the flows start, the runtime checks that value)', () => {
    for (const field of Object.keys(SAMPLES)) {
      assert.deepEqual(editor.establishmentProblems({ ...FIELDS, [field]: '${SEGUR_X}' }), [], field);
    }
    assert.equal(editor.isEnvReference(' ${SEGUR_FINESS} '), true);
    assert.equal(editor.isEnvReference('FINESS ${SEGUR_FINESS}'), false, 'only a whole value: Node-RED replaces nothing else');
    assert.ok(establishmentProblems({ ...FIELDS, custodianFiness: '${SEGUR_FINESS}' }).some((p) => p.includes('(custodianFiness)')), 'an unset variable reaches the runtime as is: wrong there');
  });

  it('the same lists of fields: the old pdf-to-cda-n1 fields, what documents need', () => {
    assert.deepEqual(editor.LEGACY_CDA_FIELDS, [...LEGACY_CDA_FIELDS]);
    assert.deepEqual(editor.CDA_FIELDS, [...CDA_FIELDS]);
    assert.deepEqual(editor.missingForCda({ ...FIELDS, documentIdRoot: '', hl7ReceivingFacility: ' ' }), ['documentIdRoot', 'hl7ReceivingFacility']);
    assert.equal(editor.hasAnyField({ custodianName: 'CHU X' }, editor.LEGACY_CDA_FIELDS), true);
    assert.equal(editor.hasAnyField({ timeZone: 'Europe/Paris', defaultFacilityType: 'SA01', hl7ProcessingId: 'P' }, editor.LEGACY_CDA_FIELDS), false, 'the old defaults say nothing');
    for (const node of [{}, { producerName: 'CHU X' }, { producerFiness: '690000001' }, { timeZone: 'Europe/Paris' }, { timeZone: 'America/Cayenne' }, { timeZone: '' }]) {
      assert.equal(editor.hasLegacyExportFields(node), hasLegacyExportFields(node), JSON.stringify(node));
    }
  });

  it('onlyCandidate: the only enabled configuration node of the type a node of this tab may use (global or on this tab), else none', () => {
    const store = (id: string, o: Msg = {}) => ({ id, type: 'ins-store', ...o });
    assert.equal(editor.onlyCandidate([store('s1')], 'ins-store', 'tab1'), 's1');
    assert.equal(editor.onlyCandidate([store('s1'), { id: 'e1', type: 'segur-establishment' }], 'ins-store', 'tab1'), 's1', 'other types do not count');
    assert.equal(editor.onlyCandidate([], 'ins-store', 'tab1'), '');
    assert.equal(editor.onlyCandidate([store('s1'), store('s2')], 'ins-store', 'tab1'), '', 'two stores: the user chooses');
    assert.equal(editor.onlyCandidate([store('s1', { z: 'tab2' })], 'ins-store', 'tab1'), '', 'a store of another tab is not offered');
    assert.equal(editor.onlyCandidate([store('s1', { z: 'tab1' }), store('s2', { z: 'tab2' })], 'ins-store', 'tab1'), 's1');
    assert.equal(editor.onlyCandidate([store('s1', { d: true }), store('s2')], 'ins-store', 'tab1'), 's2', 'a disabled store is not taken');
  });

  it('referenceState: none (empty, or the dialog\'s "none" / "add new…"), missing, invalid, ok', () => {
    const nodes: Record<string, Msg> = { good: { valid: true }, bad: { valid: false }, fresh: {} };
    const lookup = (id: string) => nodes[id] ?? null;
    assert.deepEqual(
      ['', '_ADD_', ' ', undefined, 'gone', 'bad', 'good', 'fresh'].map((v) => editor.referenceState(v, lookup)),
      ['none', 'none', 'none', 'none', 'missing', 'invalid', 'ok', 'ok'],
    );
  });
});
