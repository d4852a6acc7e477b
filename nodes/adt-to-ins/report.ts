// Texts about an ADT message that may leave the node through logs and Catch-able errors: field
// locations and reasons only. The issue texts of lib/ins quote some values of the message (the INS
// itself, the IPP, a wrong key, the birth date, sex or place…), fine in the ERR segments of the ACK
// that goes back to the sender, not in a log: redactIssueText takes them out.
import type { AdtIssue } from '../../lib/ins';

/** A value quoted in a text that may be kept: an OID or a version number (digits and dots). */
const HARMLESS_QUOTED = /^\d+(\.\d+)+$/;

/**
 * The text of an issue without the values the message carried:
 * - "the IPP <id> has…", "INS <value> (<kind>) rejected…" → the same without the value; any other
 *   "INS <value>" / "IPP <value>" with a digit in the value → "INS" / "IPP";
 * - "wrong key 39, expected 60" → "wrong key";
 * - any quoted value → "***", except OIDs and version numbers (digits and dots);
 * - any remaining word of capital letters and digits with at least 4 digits (identifiers, dates,
 *   INSEE codes) → "***"; OIDs are kept, and 99999 (the code of an unknown country, quoted by the rule
 *   on birth places).
 * Issues located in MSH or EVN are kept whole: the header and the event segment hold no patient data
 * (message type, version, character set, times).
 */
export function redactIssueText(text: string, location = ''): string {
  if (/^(MSH|EVN)\b/.test(location)) return text;
  return text
    .replace(/\bthe IPP \S+ has\b/g, 'the IPP has')
    .replace(/\bINS \S+ (\([^)]*\) rejected)/g, 'INS $1')
    .replace(/\b(INS|IPP) (?=[^\s,()]*\d)[^\s,()]+/g, '$1')
    .replace(/\bwrong key \S+, expected \d+/g, 'wrong key')
    .replace(/"([^"]*)"/g, (all, inner: string) => (HARMLESS_QUOTED.test(inner) ? all : '"***"'))
    .replace(/(?<![\w.])(?=(?:[A-Z]*\d){4})[0-9A-Z]{4,}(?![\w.])/g, (word) => (word === '99999' ? word : '***'));
}

/** Clips a text to `max` characters (HL7 MSA-3 is 80 characters at most). */
export function clip(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/**
 * One line naming the errors of a reading, for node.error: "<text> (ERR <code> at <location>)",
 * separated by "; ", the first `max` only. Texts are redacted (see redactIssueText).
 */
export function describeIssues(issues: AdtIssue[], max = 5): string {
  const errors = issues.filter((i) => i.severity === 'E');
  const shown = errors.slice(0, max).map((i) => `${redactIssueText(i.text, i.location)} (ERR ${i.code}${i.location ? ` at ${i.location}` : ''})`);
  if (errors.length > max) shown.push(`${errors.length - max} more`);
  return shown.join('; ');
}
