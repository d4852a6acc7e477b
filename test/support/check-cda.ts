// Runs the ANS conformance check (../shared/cisis/check-cda: CDA XSD, CI-SIS structuration minimale and
// IHE XDS-SD Schematron, level-1 body) on CDA documents, all files in one invocation (each call starts
// Java: seconds), and reads its report.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One finding: ROLE<TAB>RULE<TAB>WHERE<TAB>MESSAGE (xmllint's lines have ROLE "xsd" and no rule). */
export interface CdaFinding {
  role: string;
  rule: string;
  where: string;
  message: string;
}

export interface CdaFileReport {
  /** The error count of the summary line `check-cda: FILE: N error(s)`. */
  errors: number;
  findings: CdaFinding[];
}

export interface CdaCheckReport {
  /** By document name (the keys given to checkCda). */
  files: Record<string, CdaFileReport>;
  exitCode: number;
  /** The whole output, for failure messages. */
  output: string;
}

/** The project root: the nearest directory above this file with the pack's package.json. */
export function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'node-red-contrib-segur-dpi') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no node-red-contrib-segur-dpi package.json above ${from}`);
  }
}

/** ../shared/cisis/check-cda beside the project (CI has it there; developers too). */
export function checkCdaPath(): string {
  return path.resolve(projectRoot(), '..', 'shared', 'cisis', 'check-cda');
}

/** Roles that count as errors (check-cda counts error and fatal lines, every xsd line, tool failures). */
export function isError(f: CdaFinding): boolean {
  return f.role === 'error' || f.role === 'fatal' || f.role === 'xsd' || f.role === 'tool';
}

/** Parses check-cda's output: findings precede the summary line of their file. */
export function parseCheckCdaOutput(output: string, nameOf: (file: string) => string): Record<string, CdaFileReport> {
  const files: Record<string, CdaFileReport> = {};
  let pending: CdaFinding[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const summary = /^check-cda: (.*): (\d+) error\(s\)$/.exec(line);
    if (summary) {
      files[nameOf(summary[1])] = { errors: Number(summary[2]), findings: pending };
      pending = [];
      continue;
    }
    const missing = /^(.*): missing or empty$/.exec(line);
    if (missing) {
      files[nameOf(missing[1])] = { errors: 1, findings: [{ role: 'fatal', rule: 'check-cda', where: missing[1], message: 'missing or empty' }] };
      pending = [];
      continue;
    }
    const cols = line.split('\t');
    if (cols[0] === 'xsd') pending.push({ role: 'xsd', rule: 'CDA_extended.xsd', where: '', message: cols.slice(1).join('\t') });
    else if (cols.length >= 4) pending.push({ role: cols[0], rule: cols[1], where: cols[2], message: cols.slice(3).join('\t') });
    else if (cols.length >= 2) pending.push({ role: cols[0], rule: cols[1], where: '', message: cols.slice(2).join('\t') });
    else if (pending.length) pending[pending.length - 1].message += `\n${line}`;
    else pending.push({ role: 'tool', rule: 'check-cda', where: '', message: line });
  }
  return files;
}

/**
 * Writes each document to a temporary directory as <name>.xml and runs check-cda once on all of them.
 * Rejects when check-cda is missing (the tests fail rather than skip: CI has ../shared beside the
 * project) or when its output cannot be read; a document with errors is reported, not rejected.
 */
export async function checkCda(docs: Record<string, string | Buffer>, opts: { timeoutMs?: number } = {}): Promise<CdaCheckReport> {
  const tool = checkCdaPath();
  if (!fs.existsSync(tool)) {
    throw new Error(`check-cda not found at ${tool}: the ANS conformance tool must be at ../shared/cisis/check-cda beside the project`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cda-check-'));
  try {
    const byFile = new Map<string, string>();
    for (const [name, xml] of Object.entries(docs)) {
      if (!/^[\w.-]+$/.test(name)) throw new Error(`checkCda: "${name}" is not a usable file name`);
      const file = path.join(dir, `${name}.xml`);
      fs.writeFileSync(file, xml);
      byFile.set(file, name);
    }
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      execFile(
        tool,
        [...byFile.keys()],
        { timeout: opts.timeoutMs ?? 19 * 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C.UTF-8' } },
        (err, stdout, stderr) => {
          const out = `${stdout}${stderr ? `\n${stderr}` : ''}`;
          if (err && typeof err.code !== 'number') reject(new Error(`check-cda did not run${err.killed ? ` to its end (stopped by ${err.signal ?? 'a signal'}${err.signal === 'SIGTERM' ? ' after the time-out' : ''})` : ''}: ${err.message}\n${out}`));
          else resolve({ code: err ? (err.code as unknown as number) : 0, output: out });
        },
      );
    });
    if (code === 2) throw new Error(`check-cda could not check (exit status 2):\n${output}`);
    const files = parseCheckCdaOutput(output, (f) => byFile.get(f) ?? f);
    for (const name of byFile.values()) {
      if (!files[name]) throw new Error(`check-cda said nothing about ${name}:\n${output}`);
    }
    return { files, exitCode: code, output };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** "name: N error(s)" and each error finding, for assertion messages. */
export function describeErrors(report: CdaCheckReport): string {
  const lines: string[] = [];
  for (const [name, f] of Object.entries(report.files)) {
    const errs = f.findings.filter(isError);
    if (!f.errors && !errs.length) continue;
    lines.push(`${name}: ${f.errors} error(s)`);
    for (const e of errs) lines.push(`  ${e.role} ${e.rule} ${e.where} ${e.message}`);
  }
  return lines.join('\n');
}
