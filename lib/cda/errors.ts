export type CdaBuildErrorCode =
  /** the PDF cannot be carried (not a PDF, empty, truncated, encrypted, active content): `cause` is the PdfError */
  | 'BAD_PDF'
  /** the document type is neither an alias nor a code of the DMP typeCode value set */
  | 'UNKNOWN_TYPE'
  /** no author, or an author without identifier, name or profession/specialty */
  | 'MISSING_AUTHOR'
  /** a qualified identity (INS) without one of its birth traits, or without its INS */
  | 'MISSING_TRAIT'
  /** another required input is missing (`field` names it) */
  | 'MISSING'
  /** an input is malformed or not in its value set (`field` names it) */
  | 'INVALID'
  /** the DMP is asked for an identity that is not qualified (its patientId is the INS) */
  | 'NOT_QUALIFIED';

/** Why a CDA document or its MDM message cannot be built: `code`, the input at fault in `field`, and a message naming it. */
export class CdaBuildError extends Error {
  override readonly name = 'CdaBuildError';
  constructor(
    readonly code: CdaBuildErrorCode,
    /** The input at fault, as a path (e.g. "document.author.idNat", "patient.birthDate", "settings.custodian.finess"). */
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
