// Why an export could not be produced. Every error is raised before the archive file exists, or the
// partial file is deleted before the error reaches the caller: an error never leaves a file behind.
export type ExportErrorCode =
  /** an argument is malformed (a date that is not one, since + years, an unknown document type…) */
  | 'BAD_ARGUMENT'
  /** no patient given and `all` not set */
  | 'EMPTY_SELECTION'
  /** an IPP or INS of the selection matches neither an identity nor a document */
  | 'UNKNOWN_PATIENT'
  /** the depth starts after now (a date in the future, a negative number of years) */
  | 'FUTURE_DEPTH'
  /** the output folder is missing, is not a folder, or cannot be written */
  | 'UNWRITABLE'
  /** the output file exists and overwriting was not asked for */
  | 'OUTPUT_EXISTS'
  /** the store cannot be opened (CLI: missing file, not a database) */
  | 'STORE_UNAVAILABLE'
  /** a document's bytes in the store do not match the checksums recorded when it was archived */
  | 'INTEGRITY'
  /** writing the archive failed (disk full, I/O error…) */
  | 'WRITE_FAILED'
  /** the caller aborted the export (AbortSignal, Ctrl-C) */
  | 'ABORTED';

export class ExportError extends Error {
  override readonly name = 'ExportError';
  constructor(
    readonly code: ExportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
