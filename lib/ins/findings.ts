// What a reading found wrong with a message: the ERR segments of its acknowledgement, and its code.

export interface AdtIssue {
  /** HL7 table 0357 code. */
  code: string;
  /** ERR-2 location: segment^occurrence^field[^repetition[^component]], e.g. 'PID^1^3^2'. */
  location: string;
  text: string;
  severity: 'E' | 'W';
}

/**
 * At most this many issues are listed (one ERR segment each); the rest are counted in one last issue.
 * A message with thousands of bad repetitions must not get an acknowledgement larger than itself.
 */
export const MAX_ISSUES = 20;

export class Findings {
  readonly issues: AdtIssue[] = [];
  private rejected = false;
  private errors = 0;
  private dropped = { E: 0, W: 0 };

  /** An error that makes the message impossible to process: the ack is AR. */
  reject(code: string, location: string, text: string): void {
    this.rejected = true;
    this.add({ code, location, text, severity: 'E' });
  }
  /** An error: the message is not integrated (AE). */
  error(code: string, location: string, text: string): void {
    this.add({ code, location, text, severity: 'E' });
  }
  /** A warning: reported in the ACK, which stays AA. */
  warn(code: string, location: string, text: string): void {
    this.add({ code, location, text, severity: 'W' });
  }

  get isRejected(): boolean {
    return this.rejected;
  }

  get hasErrors(): boolean {
    return this.errors > 0;
  }

  get ack(): 'AA' | 'AE' | 'AR' {
    if (this.rejected) return 'AR';
    return this.errors > 0 ? 'AE' : 'AA';
  }

  /** The issues listed, plus one that counts those left out. */
  list(): AdtIssue[] {
    const left = this.dropped.E + this.dropped.W;
    if (!left) return this.issues;
    const what = [this.dropped.E ? `${this.dropped.E} error${this.dropped.E > 1 ? 's' : ''}` : '', this.dropped.W ? `${this.dropped.W} warning${this.dropped.W > 1 ? 's' : ''}` : '']
      .filter(Boolean)
      .join(' and ');
    return [...this.issues, { code: this.dropped.E ? '207' : '199', location: '', text: `${what} more, not listed`, severity: this.dropped.E ? 'E' : 'W' }];
  }

  private add(issue: AdtIssue): void {
    if (issue.severity === 'E') this.errors++;
    if (this.issues.length < MAX_ISSUES) this.issues.push(issue);
    else this.dropped[issue.severity]++;
  }
}
