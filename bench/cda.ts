// CDA R2 level-1 generation (pdf-to-cda-n1's core): time and peak memory for 100 KiB, 1 MiB and 10 MiB
// PDFs, with the plain base64 encoding of the same PDF measured beside it (the yardstick: a
// 10 MiB PDF must cost no more than about 3× its base64 encoding), and the route the builder avoids
// (the base64 text put through xmlbuilder2's DOM) as a second baseline.
//
// Peak memory: each measure runs in a child process of its own (`node dist/bench/cda.js --child …`),
// which reads the PDF from a file and reports its peak resident set (VmHWM).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCdaN1Buffer, buildMdmBuffer, type CdaBuildInput } from '../lib/cda';
import { build } from '../lib/cda/build';
import { inspectPdf } from '../lib/pdf';
import { documentInput, qualifiedPatient, settings } from '../test/fixtures/cda';
import { largePdf } from '../test/fixtures/pdf';
import { medianMs, peakRssMiB, type BenchTable } from './table';

const MiB = 1024 * 1024;
const SIZES: [string, number][] = [
  ['100 KiB', 100 * 1024],
  ['1 MiB', MiB],
  ['10 MiB', 10 * MiB],
];

function input(pdf: Buffer): CdaBuildInput {
  return { pdf, patient: qualifiedPatient(), document: documentInput('LDL'), settings: settings() };
}

type ChildWork = 'read' | 'base64' | 'cda' | 'cda+mdm';

/** In a child process: read the PDF, do the work once, print the peak RSS in MiB. */
async function child(work: ChildWork, file: string): Promise<void> {
  const pdf = fs.readFileSync(file);
  let keep: unknown = null;
  if (work === 'base64') keep = pdf.toString('base64');
  if (work === 'cda' || work === 'cda+mdm') {
    const i = input(pdf);
    const cda = await buildCdaN1Buffer(i);
    keep = work === 'cda' ? cda.bytes : buildMdmBuffer(cda.bytes, cda.meta, i.patient, i.document, i.settings, 'T02');
  }
  process.stdout.write(JSON.stringify({ peak: peakRssMiB(), kept: keep ? 1 : 0 }));
}

function peakMiB(work: ChildWork, file: string): number {
  const out = execFileSync(process.execPath, [__filename, '--child', work, file], { encoding: 'utf8' });
  return JSON.parse(out).peak as number;
}

export async function run(): Promise<BenchTable[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-bench-cda-'));
  const rows: (string | number)[][] = [];
  try {
    for (const [label, size] of SIZES) {
      const pdf = await largePdf(size);
      const file = path.join(dir, `${size}.pdf`);
      fs.writeFileSync(file, pdf);
      const runs = size >= 10 * MiB ? 15 : 41;
      const b64 = await medianMs(() => pdf.toString('base64'), runs);
      const inspect = await medianMs(() => inspectPdf(pdf), runs);
      const cda = await medianMs(() => buildCdaN1Buffer(input(pdf)), runs);
      const dom = await medianMs(() => build(input(pdf), 'dom'), Math.min(runs, 7));
      const i = input(pdf);
      const built = await buildCdaN1Buffer(i);
      const mdm = await medianMs(() => buildMdmBuffer(built.bytes, built.meta, i.patient, i.document, i.settings, 'T02'), runs);
      const [read, peakB64, peakCda, peakMdm] = (['read', 'base64', 'cda', 'cda+mdm'] as ChildWork[]).map((w) => peakMiB(w, file));
      rows.push([`${label} PDF`, b64, inspect, cda, `${(cda / b64).toFixed(1)}×`, dom, mdm, read, peakB64, peakCda, peakMdm]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: 'CDA R2 level 1 from a PDF (LDL, qualified INS): median time in ms, peak RSS in MiB',
      columns: ['PDF', 'base64 (baseline)', 'inspectPdf', 'buildCdaN1', '÷ base64', 'via xmlbuilder2 DOM', 'MDM^T02 of it', 'RSS: read PDF', 'RSS: + base64', 'RSS: + CDA', 'RSS: + CDA + MDM'],
      rows,
      notes: [
        'buildCdaN1 = inspect the PDF (pdf-lib), build the CI-SIS header (xmlbuilder2), splice the base64 body in, UTF-8 bytes. "via xmlbuilder2 DOM": the same document with the base64 put through the DOM builder (the route not taken). Peak RSS of a child process that reads the PDF then does the work once.',
      ],
    },
  ];
}

if (require.main === module && process.argv[2] === '--child') {
  child(process.argv[3] as ChildWork, process.argv[4]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
