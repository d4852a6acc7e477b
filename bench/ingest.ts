// Reading received documents (cda-ingest's core): documents/s and MB/s for 100 KiB, 1 MiB and 10 MiB
// CDA R2 level-1 documents — readCda on the document alone, readHl7Document on the same document in an
// MDM^T02 (base64 in OBX-5) — beside the plain base64 decoding of the same PDF (the yardstick: the PDF
// has to be decoded anyway), plus the whole node path on the MDM (ingest() then matchPatient against a
// SQLite identity store holding the patient).
//
// Peak memory of the 10 MiB case: each measure runs in a child process of its own
// (`node dist/bench/ingest.js --child …`), which reads the input from a file, does the work once and
// reports its peak resident set (VmHWM).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCdaN1Buffer, buildMdmBuffer, matchPatient, readCda, readHl7Document } from '../lib/cda';
import { readAdtPayload } from '../lib/ins';
import { SqliteIdentityStore } from '../lib/store';
import { ingest } from '../nodes/cda-ingest/ingest';
import { adtMessage } from '../test/fixtures/adt';
import { documentInput, qualifiedPatient, settings } from '../test/fixtures/cda';
import { largePdf } from '../test/fixtures/pdf';
import { medianMs, peakRssMiB, type BenchTable } from './table';

const MiB = 1024 * 1024;
const SIZES: [string, number][] = [
  ['100 KiB', 100 * 1024],
  ['1 MiB', MiB],
  ['10 MiB', 10 * MiB],
];

type ChildWork = 'read' | 'base64' | 'readCda' | 'readHl7Document';

/** In a child process: read the input file, do the work once, print the peak RSS in MiB. */
function child(work: ChildWork, file: string): void {
  const input = fs.readFileSync(file);
  let keep: unknown = input;
  if (work === 'base64') keep = Buffer.from(input.toString('latin1'), 'base64');
  if (work === 'readCda') keep = readCda(input).pdf;
  if (work === 'readHl7Document') keep = readHl7Document(input).reading.pdf;
  process.stdout.write(JSON.stringify({ peak: peakRssMiB(), kept: keep ? 1 : 0 }));
}

function peakMiB(work: ChildWork, file: string): number {
  const out = execFileSync(process.execPath, [__filename, '--child', work, file], { encoding: 'utf8' });
  return JSON.parse(out).peak as number;
}

export async function run(): Promise<BenchTable[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-bench-ingest-'));
  const store = new SqliteIdentityStore({ file: path.join(dir, 'ins-store.db') });
  const rows: (string | number)[][] = [];
  const memory: (string | number)[][] = [];
  try {
    const reading = readAdtPayload(adtMessage({ pid: { status: ['VALI'] } }));
    await store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId: 'BENCH', actor: 'bench' }, { code: 'AA', text: '' });
    for (const [label, size] of SIZES) {
      const pdf = await largePdf(size);
      const patient = qualifiedPatient();
      const document = documentInput('CR-BIO');
      const { bytes: cda, meta } = await buildCdaN1Buffer({ pdf, patient, document, settings: settings() });
      const mdm = buildMdmBuffer(cda, meta, patient, document, settings(), 'T02');
      const b64 = pdf.toString('base64');
      const runs = size >= 10 * MiB ? 15 : size >= MiB ? 41 : 201;
      const decode = await medianMs(() => Buffer.from(b64, 'base64'), runs);
      const plain = await medianMs(() => readCda(cda), runs);
      const carried = await medianMs(() => readHl7Document(mdm), runs);
      const node = await medianMs(async () => {
        const got = ingest(mdm, { maxBytes: 50 * MiB, acceptLevel3: true });
        const m = await matchPatient(got.reading, store);
        if (m.outcome !== 'preselected') throw new Error(`bench: ${m.match.method}`);
      }, runs);
      const mb = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
      rows.push([
        `${label} PDF (CDA ${(cda.length / MiB).toFixed(2)} MiB)`,
        decode,
        plain,
        1000 / plain,
        mb(cda.length, plain),
        `${(plain / decode).toFixed(1)}×`,
        carried,
        1000 / carried,
        mb(mdm.length, carried),
        node,
        1000 / node,
      ]);
      if (size === 10 * MiB) {
        const cdaFile = path.join(dir, 'doc.xml');
        const mdmFile = path.join(dir, 'doc.hl7');
        const b64File = path.join(dir, 'pdf.b64');
        fs.writeFileSync(cdaFile, cda);
        fs.writeFileSync(mdmFile, mdm);
        fs.writeFileSync(b64File, b64);
        memory.push(
          ['base64 text of the PDF', (fs.statSync(b64File).size / MiB).toFixed(1), peakMiB('read', b64File), peakMiB('base64', b64File)],
          ['CDA document → readCda', (cda.length / MiB).toFixed(1), peakMiB('read', cdaFile), peakMiB('readCda', cdaFile)],
          ['MDM^T02 → readHl7Document', (mdm.length / MiB).toFixed(1), peakMiB('read', mdmFile), peakMiB('readHl7Document', mdmFile)],
        );
      }
    }
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: 'Reading a received CDA R2 level-1 document (CR-BIO, qualified INS): median time in ms, documents/s, MB/s',
      columns: ['Document', 'base64 decode (baseline)', 'readCda', 'docs/s', 'MB/s', '÷ base64', 'readHl7Document (MDM)', 'docs/s', 'MB/s', 'node path (MDM + match)', 'docs/s'],
      rows,
      notes: [
        'readCda = safe XML read (no DTD, no entity, bounded), CI-SIS header, the INS key checked, the PDF decoded from base64 straight into one Buffer. readHl7Document = the MDM (a Buffer) parsed without its ED data, the OBX-5 base64 decoded from the message bytes straight into the CDA Buffer, then readCda. "node path" = what cda-ingest does before archiving: ingest() (readHl7Document and the header checks) then matchPatient against a SQLite store holding the patient. MB/s counts the input bytes (the document, or the MDM message).',
      ],
    },
    {
      title: 'Reading a received 10 MiB document: peak RSS in MiB (a child process that reads the input, then does the work once)',
      columns: ['Input', 'size (MiB)', 'RSS: read the file', 'RSS: + the work'],
      rows: memory,
    },
  ];
}

if (require.main === module && process.argv[2] === '--child') {
  try {
    child(process.argv[3] as ChildWork, process.argv[4]);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
