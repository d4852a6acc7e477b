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

/**
 * MSH-12 per message (profils-messages.md, MSH-12 "2.5 pour ORU, 2.6 pour MDM"; the business
 * acknowledgements ZAM: "MSH-12.1 Version du standard 2.6", Figure 20 "ZAM_Z01 – Accusé métier v2.6").
 */
export const MESSAGE_VERSIONS = Object.freeze({ ORU: '2.5', MDM: '2.6', ZAM: '2.6' });

/** MSH-18 of every message of the volet (profils-messages.md: "valeurs possibles : UNICODE UTF-8 ou 8859/15"). */
export const MESSAGE_CHARSETS: readonly string[] = Object.freeze(['UNICODE UTF-8', '8859/15']);

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
/**
 * OBX-3.3 of DESTINATAIRE_MSS as the ZAM^Z02 table of profils-messages.md writes it ("AckMétierZAM", with
 * an accent), where the table ack-metier-zam.md and every other OBX write AckMetierZAM: read both, write
 * the table's.
 */
export const ACK_METIER_SYSTEM_ACCENTED = 'AckMétierZAM';

/** MSH-9.3 of the three business acknowledgements (profils-messages.md: "la structure de message HL7v2.6 ZAM_Z01"). */
export const ZAM_STRUCTURE = 'ZAM_Z01';

/**
 * ERR-5.3 of a ZAM, per event (profils-messages.md, "Segment ERR" of each ZAM):
 * - Z01 `Code^libellé du code^DMP_ERROR_CODE`, the codes of annex A7-1 "Liste des codes d'erreurs" of the
 *   DMP's "Service DMP intégré aux LPS" v2.10.0 (not published with the volet);
 * - Z02 `Code SMTP^libellé du code^SMTPERRORCODE`, table « SMTPERRORCODE » (error-codes.md);
 * - Z03 `Code^libellé du code^applicationErrorCondition`, codes of table HL70533 "(nom symbolique :
 *   applicationErrorCode)" — the Z03 table names the system applicationErrorCondition, its own text and
 *   error-codes.md ("table HL70533 (dont le nom symbolique est applicationErrorCode)") applicationErrorCode;
 *   error-codes.md titles the 900–906 table "user-defined applicationErrorCondition".
 */
export const DMP_ERROR_SYSTEM = 'DMP_ERROR_CODE';
export const SMTP_ERROR_SYSTEM = 'SMTPERRORCODE';
export const ZAM_APPLICATION_ERROR_SYSTEM = 'applicationErrorCondition';

/**
 * The ZAM events (profils-messages.md, "Evènements déclenchants des messages d'accusés métier", and
 * "Description des contraintes à appliquer sur les accusés métiers"): the code of the status OBX (the
 * first), of the party OBX (the second, Z02 / Z03: Figure 20 "Requis pour les évènements Z02 et Z03"),
 * the step of the document's journey it reports, and the coding systems of ERR-5 (the first is written).
 */
export const ZAM_EVENTS = Object.freeze({
  Z01: Object.freeze({ status: 'ACK_RECEPTION_DMP', party: null, journey: 'dmp-received', errorSystems: Object.freeze([DMP_ERROR_SYSTEM]) }),
  Z02: Object.freeze({ status: 'ACK_RECEPTION_MSS', party: 'DESTINATAIRE_MSS', journey: 'mssante-received', errorSystems: Object.freeze([SMTP_ERROR_SYSTEM]) }),
  Z03: Object.freeze({
    status: 'ACK_LECTURE_MSS',
    party: 'LECTEUR_MSS',
    journey: 'mssante-read',
    // the Z03 table's name, then the table's symbolic name (APPLICATION_ERROR_SYSTEM, declared below)
    errorSystems: Object.freeze([ZAM_APPLICATION_ERROR_SYSTEM, 'applicationErrorCode']),
  }),
} as const);
export type ZamEvent = keyof typeof ZAM_EVENTS;

/** OBX-5.3 of the party OBX of a ZAM^Z02 / Z03 (XTN: "X.400 (X.400 email address)"), OBX-5.4 the MSSanté address. */
export const MSSANTE_EQUIPMENT_TYPE = 'X.400';

/**
 * Table « SMTPERRORCODE » (error-codes.md), ERR-5 of a ZAM^Z02: the error of the delivery by MSSanté to
 * the recipient's mail server.
 */
export const SMTP_ERROR_CODE = Object.freeze({
  '101': "Le serveur n'arrive pas à se connecter.",
  '111': "Connexion refusée ou impossibilité d'ouvrir un flux SMTP.",
  '251': "Le compte du destinataire n'est pas sur le serveur actuel. L'envoi sera donc relayé à un autre serveur.",
  '252': "Le serveur ne peut pas vérifier l'utilisateur. Il confirme cependant qu'il essaiera de transmettre le message malgré tout",
  '420': '« Problème de connexion de temporisation » : il y a eu des problèmes pendant le transfert du message.',
  '421': "Le service est indisponible en raison d'un problème de connexion.",
  '422': 'La boîte aux lettres du destinataire a dépassé sa limite de stockage.',
  '431': "Espace insuffisant sur le disque, ou état de mémoire insuffisante en raison d'une surcharge de fichiers.",
  '432': 'Mot de passe de transition nécessaire',
  '441': 'Le serveur du destinataire ne répond pas',
  '442': 'La connexion a été interrompue pendant la transmission',
  '450': 'Action non effectuée : boîte-aux-lettres non disponible [Ex., bloquée par un autre utilisateur]',
  '451': 'Action arrêtée : erreur de traitement',
  '452': 'Action non effectuée : manque de ressources système.',
  '500': 'Erreur de syntaxe, commande non reconnue [y compris des erreurs de type « ligne de commande trop longue »]',
  '501': 'Erreur de syntaxe dans des paramètres ou arguments de commande',
  '502': 'Commande non implémentée',
  '503': 'Mauvaise séquence de commandes',
  '504': 'Paramètre de commande non implémenté',
  '510': 'Mauvaise adresse courriel',
  '512': 'Ce code indique une erreur DNS. Le serveur hôte du nom de domaine du destinataire est introuvable.',
  '513': "Le type d'adresse est incorrect. Souvent un problème lié à une faute d'orthographe. Dans de rares cas, il peut être lié à un problème d'authentification.",
  '523': 'La taille totale de votre mailing dépasse les limites du serveur destinataire.',
  '530': "L'authentification est requise. Vous devez authentifier votre compte de messagerie avant d'envoyer un e-mail",
  '541': "L'adresse du destinataire a rejeté votre message. Dans la plupart des cas, c'est une erreur causée par un filtre anti-spam.",
  '550': "Action non effectuée : boîte aux lettres non disponible (ex. : boîte-aux-lettres non trouvée, pas d'accès).",
  '551': 'Un relais peut être interrompu car votre adresse et celle du destinataire ne sont pas hébergées localement par le serveur.',
  '552': 'Action abandonnée - Allocation de stockage dépassée. La boîte aux lettres du destinataire a dépassé ses limites.',
  '553': "La commande a été abandonnée car le nom de la boîte aux lettres n'est pas valide.",
  '554': "Cela signifie que l'envoi a échoué. Ce code indique une erreur permanente et le serveur n'essaiera pas d'envoyer le message à nouveau.",
});
export type SmtpErrorCode = keyof typeof SMTP_ERROR_CODE;

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
