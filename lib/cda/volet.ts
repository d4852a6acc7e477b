// The codes and tables of the two CI-SIS transport volets, as published (../shared/specs):
// - "Transmission de documents CDA en HL7 v2" 2.1 (CISIS_CDA_HL7_V2: the DPI → the PFI), folder
//   volet-transmission-cda-hl7v2/;
// - "Transmission au LPS d'un document CDA provenant d'un courriel MSSanté" 1.1 (CISIS_CDA_HL7_LPS: the
//   PFI → the receiving software, which cda-ingest is), folder volet-lps-cda-mssante/.
// Every value frozen, with the page it comes from.

/** MSH-21 of a message of each volet (profils-messages.md, "Le segment MSH"). */
export const MESSAGE_PROFILES = Object.freeze({
  /** DPI → PFI: `2.1^CISIS_CDA_HL7_V2`. */
  transmission: Object.freeze({ version: '2.1', namespace: 'CISIS_CDA_HL7_V2' }),
  /** PFI → LPS: `1.1^CISIS_CDA_HL7_LPS`. */
  lps: Object.freeze({ version: '1.1', namespace: 'CISIS_CDA_HL7_LPS' }),
});

/** MSH-12 per message (profils-messages.md, MSH-12 "2.5 pour ORU, 2.6 pour MDM"). */
export const MESSAGE_VERSIONS = Object.freeze({ ORU: '2.5', MDM: '2.6' });

/** The coding system of the metadata OBX (OBX-3.3), table « MétaDMP/MSS ». */
export const METADATA_SYSTEM = 'MetaDMPMSS';

/**
 * Table « MetaDMP/MSS » (volet-transmission-cda-hl7v2/meta-dmp-mss.md), in the order the messages carry
 * them (profils-messages.md, "Les métadonnées DMP/MSSanté": "Les métadonnées doivent apparaître dans le
 * message HL7 dans l'ordre indiqué"). The ten flags are required, Y or N; the two mail bodies optional.
 */
export const METADATA = Object.freeze({
  MASQUE_PS: 'Masqué aux professionnels de Santé',
  INVISIBLE_PATIENT: 'Document Non Visible par le patient',
  INVISIBLE_REP_LEGAUX: 'Non visible par les représentants Légaux du patient',
  CONNEXION_SECRETE: 'Connexion Secrete',
  MODIF_CONF_CODE: 'Modification Confidentiality Code',
  DESTDMP: 'Destinataire DMP',
  DESTMSSANTEPS: 'Destinataire (Professionnel de Santé, organisation ou BAL applicative)',
  DESTMSSANTEPAT: 'Destinataire Patient',
  ACK_RECEPTION: 'Accusé de réception',
  ACK_LECTURE_MSS: 'Accusé de lecture',
  CORPSMAIL_PS: 'Corps du mail pour un PS',
  CORPSMAIL_PATIENT: 'Corps du mail pour le patient',
});
export type MetadataCode = keyof typeof METADATA;

/** The ten Y/N flags, in message order (OBX-5 `Y^^expandedYes-NoIndicator`, HL7 table 0136). */
export const METADATA_FLAGS: readonly MetadataCode[] = Object.freeze([
  'MASQUE_PS',
  'INVISIBLE_PATIENT',
  'INVISIBLE_REP_LEGAUX',
  'CONNEXION_SECRETE',
  'MODIF_CONF_CODE',
  'DESTDMP',
  'DESTMSSANTEPS',
  'DESTMSSANTEPAT',
  'ACK_RECEPTION',
  'ACK_LECTURE_MSS',
]);

/** The four the LPS volet's MDM carries (volet-lps-cda-mssante/profils-messages.md, "Groupes OBXNTE portant les métadonnées MSSanté"). */
export const LPS_METADATA_FLAGS: readonly MetadataCode[] = Object.freeze(['MASQUE_PS', 'INVISIBLE_PATIENT', 'INVISIBLE_REP_LEGAUX', 'MODIF_CONF_CODE']);

/** OBX-5.3 of a flag. */
export const YES_NO_SYSTEM = 'expandedYes-NoIndicator';

/**
 * PRT-4 "Participation" (profils-messages.md, "Les données concernant la demande de traitement sur le(s)
 * document(s)"): the sender (SB), each MSSanté recipient (RCT), the reply address (REPLY); coding system
 * "participation".
 */
export const PARTICIPATIONS = Object.freeze({ SB: 'Send by', RCT: 'Result Copies To', REPLY: 'Reply To' });
export type Participation = keyof typeof PARTICIPATIONS;
export const PARTICIPATION_SYSTEM = 'participation';

/** ORC-1 and OBX-11 of each request (evenements-declenchants.md, profils-messages.md "Le segment ORC"). */
export const DOCUMENT_ACTIONS = Object.freeze({
  new: Object.freeze({ mdm: 'T02', orc: 'NW', obx11: 'F' }),
  replace: Object.freeze({ mdm: 'T10', orc: 'RO', obx11: 'C' }),
  delete: Object.freeze({ mdm: 'T04', orc: 'CA', obx11: 'D' }),
});
export type DocumentAction = keyof typeof DOCUMENT_ACTIONS;

/**
 * Table « AckMetierZAM » (volet-transmission-cda-hl7v2/ack-metier-zam.md) of the business acknowledgements
 * ZAM^Z01 (DMP reception), ZAM^Z02 (MSSanté reception), ZAM^Z03 (MSSanté reading).
 */
export const ACK_METIER = Object.freeze({
  ACK_RECEPTION_DMP: 'Accusé de réception DMP',
  ACK_RECEPTION_MSS: 'Accusé de réception MSSanté',
  DESTINATAIRE_MSS: 'Destinataire MSSanté',
  ACK_LECTURE_MSS: 'Accusé de lecture',
  LECTEUR_MSS: 'Lecteur du courriel MSSanté',
});
export const ACK_METIER_SYSTEM = 'AckMetierZAM';

/** The ZAM events (profils-messages.md, "Evènements déclenchants des messages d'accusés métier"). */
export const ZAM_EVENTS = Object.freeze({
  Z01: Object.freeze({ status: 'ACK_RECEPTION_DMP', party: null, journey: 'dmp-received' }),
  Z02: Object.freeze({ status: 'ACK_RECEPTION_MSS', party: 'DESTINATAIRE_MSS', journey: 'mssante-received' }),
  Z03: Object.freeze({ status: 'ACK_LECTURE_MSS', party: 'LECTEUR_MSS', journey: 'mssante-read' }),
} as const);
export type ZamEvent = keyof typeof ZAM_EVENTS;

/**
 * Table messageErrorCondition (HL7 0357) as both volets give it (error-codes.md), ERR-3, coding system
 * "messageErrorCondition". 207 is "Application error", detailed in ERR-5.
 */
export const MESSAGE_ERROR_CONDITION = Object.freeze({
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '198': 'Non-conformant cardinality',
  '199': 'Other HL7 Error',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing',
  '203': 'Unsupported version',
  '207': 'Application error',
});
export const MESSAGE_ERROR_SYSTEM = 'messageErrorCondition';

/**
 * Table applicationErrorCode (user-defined 0533) of the LPS volet (volet-lps-cda-mssante/error-codes.md),
 * ERR-5 of an AE 207 from the receiving software, coding system "applicationErrorCode".
 */
export const APPLICATION_ERROR_CODE = Object.freeze({
  '900': "Version du document incorrecte lors d'une demande de remplacement/suppression",
  '901': 'Auteur non autorisé à remplacer ou supprimer un document',
  '902': 'Identifiant patient inconnu',
  '903': 'INS non présent dans le document',
  '904': "L'INS transmis ne correspond pas exactement à celui stocké dans la base du consommateur",
  '905': "L'INS transmis n'est pas complet",
  '906': "Erreur 'Autre'",
});
export type ApplicationErrorCode = keyof typeof APPLICATION_ERROR_CODE;
export const APPLICATION_ERROR_SYSTEM = 'applicationErrorCode';

/** OID of national health-professional identifiers (PRT-5.9.2, profils-messages.md). */
export const PS_ID_OID = '1.2.250.1.71.4.2.1';
/** OID of structure identifiers (PRT-8.6, profils-messages.md). */
export const STRUCTURE_ID_OID = '1.2.250.1.71.4.2.2';
