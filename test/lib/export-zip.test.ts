// The export's streaming ZIP writer (lib/export/zip.ts): archives read back by the tests' own reader
// (central directory + inflateRaw, CRC-32 checked), by unzip and by Python's zipfile when they are there;
// ZIP64 by entry count (and, opt-in, by size); backpressure; failures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { crc32, tableCrc32, ZipWriter } from '../../lib/export/zip';
import { readZipDirectory, readZipEntry, unzipAll } from '../fixtures/export-docs';

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** A Writable that keeps what it is given (optionally slowly, with a small buffer). */
function collector(opts: { highWaterMark?: number; delayMs?: number } = {}): Writable & { chunks: Buffer[]; maxBuffered: number; data(): Buffer } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    highWaterMark: opts.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      if (opts.delayMs) setTimeout(cb, opts.delayMs);
      else cb();
    },
  }) as Writable & { chunks: Buffer[]; maxBuffered: number; data(): Buffer };
  w.chunks = chunks;
  w.maxBuffered = 0;
  const write = w.write.bind(w) as (chunk: Buffer) => boolean;
  w.write = ((chunk: Buffer) => {
    const r = write(chunk);
    w.maxBuffered = Math.max(w.maxBuffered, w.writableLength);
    return r;
  }) as typeof w.write;
  w.data = () => Buffer.concat(chunks);
  return w;
}

const tmpDirs: string[] = [];
function tmpFile(name: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-zip-'));
  tmpDirs.push(d);
  return path.join(d, name);
}

/** unzip -t and Python's zipfile (testzip) on a file, when installed. */
function checkWithTools(file: string): void {
  if (has('unzip')) {
    const r = spawnSync('unzip', ['-tq', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `unzip -t: ${r.stdout}${r.stderr}`);
  }
  if (has('python3')) {
    const r = spawnSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.infolist()))', file], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `python zipfile: ${r.stderr}`);
  }
}

describe('lib/export ZIP writer', function () {
  this.timeout(60_000);
  after(() => {
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('CRC-32: zlib\'s and the table fallback agree, also in pieces', () => {
    const b = randomBytes(100_003);
    assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(tableCrc32(b), crc32(b));
    assert.equal(tableCrc32(b.subarray(5000), tableCrc32(b.subarray(0, 5000))), crc32(b));
    assert.equal(tableCrc32(Buffer.alloc(0)), 0);
  });

  it('writes buffers and streams, stored and deflated, in order, with UTF-8 names and dates', async () => {
    const out = collector();
    const zip = new ZipWriter(out, { mtime: new Date(2026, 10, 23, 13, 0, 0) });
    const pdf = randomBytes(200_000);
    const xml = Buffer.from('<ClinicalDocument>' + 'é'.repeat(50_000) + '</ClinicalDocument>');
    const big = Buffer.from('ligne;de;manifeste\r\n'.repeat(200_000));
    const produced = new Date(2019, 2, 10, 11, 0, 30);
    const done = [
      zip.addBuffer('patients/DURAND_Zoé/a.xml', xml, { mtime: produced }),
      zip.addBuffer('patients/DURAND_Zoé/a.pdf', pdf, { mtime: produced, compress: false }),
      zip.addBuffer('vide.txt', Buffer.alloc(0)),
      zip.addStream('manifest.csv', (function* () {
        for (let i = 0; i < big.length; i += 65_536) yield big.subarray(i, i + 65_536);
      })(), big.length),
      zip.addStream('stored.bin', [pdf.subarray(0, 1000), pdf.subarray(1000)], pdf.length, { compress: false }),
    ];
    await Promise.all(done);
    await zip.finish('Segur DPI export - test');
    const data = out.data();
    assert.equal(zip.bytes, data.length);
    assert.equal(zip.entries, 5);
    const { entries, comment } = readZipDirectory(data);
    assert.equal(comment, 'Segur DPI export - test');
    assert.deepEqual(entries.map((e) => [e.name, e.method]), [
      ['patients/DURAND_Zoé/a.xml', 8],
      ['patients/DURAND_Zoé/a.pdf', 0],
      ['vide.txt', 8],
      ['manifest.csv', 8],
      ['stored.bin', 0],
    ]);
    const files = unzipAll(data);
    assert.ok(files.get('patients/DURAND_Zoé/a.xml')!.equals(xml));
    assert.ok(files.get('patients/DURAND_Zoé/a.pdf')!.equals(pdf));
    assert.equal(files.get('vide.txt')!.length, 0);
    assert.ok(files.get('manifest.csv')!.equals(big));
    assert.ok(files.get('stored.bin')!.equals(pdf));
    assert.ok(entries[3].compressedSize < big.length / 10, 'deflated');
    // MS-DOS time (local, 2-second steps) of the production date; the writer's date by default
    assert.equal(entries[0].mtime.getTime(), new Date(2019, 2, 10, 11, 0, 30).getTime());
    assert.equal(entries[2].mtime.getTime(), new Date(2026, 10, 23, 13, 0, 0).getTime());
    // UTF-8 flag (bit 11) on every entry, data descriptor (bit 3) on streamed ones only; the UTC time extra field
    let p = data.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), entries[0].localOffset);
    for (const e of entries) {
      assert.equal(data.readUInt32LE(p), 0x02014b50);
      const flags = data.readUInt16LE(p + 8);
      assert.equal(flags & 0x0800, 0x0800, e.name);
      assert.equal(flags & 0x0008, e.name.endsWith('.csv') || e.name.endsWith('.bin') ? 8 : 0, e.name);
      const nameLen = data.readUInt16LE(p + 28);
      const extra = data.subarray(p + 46 + nameLen, p + 46 + nameLen + data.readUInt16LE(p + 30));
      assert.equal(extra.readUInt16LE(0), 0x5455);
      assert.equal(extra.readInt32LE(5), Math.floor((e.name.includes('DURAND') ? produced : new Date(2026, 10, 23, 13, 0, 0)).getTime() / 1000));
      assert.equal(data.readUInt32LE(p + 38) >>> 16, 0o100644);
      p += 46 + nameLen + extra.length + data.readUInt16LE(p + 32);
    }
    assert.equal(data.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06])), -1, 'no ZIP64 record when not needed');
    const file = tmpFile('t.zip');
    fs.writeFileSync(file, data);
    checkWithTools(file);
  });

  it('switches to ZIP64 at 65,535 entries (and not at 65,534)', async () => {
    for (const n of [65_534, 65_535]) {
      const out = collector({ highWaterMark: 1024 * 1024 });
      const zip = new ZipWriter(out);
      const one = Buffer.from('x');
      let last: Promise<void> = Promise.resolve();
      for (let i = 0; i < n; i++) {
        last = zip.addBuffer(`f/${i}.txt`, one, { compress: false });
        if (i % 1000 === 999) await last;
      }
      await last;
      await zip.finish();
      const data = out.data();
      const zip64 = data.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
      assert.equal(zip64, n >= 65_535, `${n} entries`);
      const { entries } = readZipDirectory(data);
      assert.equal(entries.length, n);
      assert.equal(entries[n - 1].name, `f/${n - 1}.txt`);
      assert.equal(readZipEntry(data, entries[n - 1]).toString(), 'x');
      if (n >= 65_535) {
        const file = tmpFile('many.zip');
        fs.writeFileSync(file, data);
        checkWithTools(file);
      }
    }
  });

  it('waits for the output: what it hands over stays within the output\'s buffer', async () => {
    const out = collector({ highWaterMark: 64 * 1024, delayMs: 1 });
    const zip = new ZipWriter(out);
    const doc = randomBytes(300_000);
    for (let i = 0; i < 20; i++) await zip.addBuffer(`d/${i}.pdf`, doc, { compress: false });
    await zip.addStream('s.bin', (function* () {
      for (let i = 0; i < 10; i++) yield doc;
    })(), doc.length * 10, { compress: false });
    await zip.finish();
    // one chunk may overshoot the high-water mark; never two documents
    assert.ok(out.maxBuffered <= 64 * 1024 + doc.length, `${out.maxBuffered} bytes buffered by the output`);
    assert.equal(unzipAll(out.data()).size, 21);
  });

  it('fails every pending entry and finish() when the output fails, and refuses a size that does not match', async () => {
    const out = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('disk full (simulated)'));
      },
    });
    const zip = new ZipWriter(out);
    const a = zip.addBuffer('a.txt', Buffer.from('a'));
    const b = zip.addBuffer('b.txt', Buffer.from('b'));
    await assert.rejects(a, /disk full/);
    await assert.rejects(b, /disk full/);
    await assert.rejects(zip.finish(), /disk full/);
    assert.throws(() => zip.addBuffer('c.txt', Buffer.from('c')), /entry added after finish|disk full/);

    const z2 = new ZipWriter(collector());
    await assert.rejects(z2.addStream('short.txt', [Buffer.from('abc')], 4), /3 bytes read, 4 announced/);
    await assert.rejects(z2.finish(), /3 bytes read/);
    assert.throws(() => new ZipWriter(collector()).addBuffer('../evil', Buffer.alloc(1)), /bad entry name/);
  });

  it('writes a file of more than 4 GiB as ZIP64 (EXPORT_TEST_ZIP64=1, about 30 s)', async function () {
    if (!process.env.EXPORT_TEST_ZIP64) this.skip();
    this.timeout(600_000);
    const size = 2 ** 32 + 1_000_000;
    const block = Buffer.alloc(4 * 1024 * 1024, 0x41);
    const file = tmpFile('big.zip');
    const out = fs.createWriteStream(file);
    const zip = new ZipWriter(out);
    await zip.addBuffer('before.txt', Buffer.from('before'));
    await zip.addStream('big.txt', (function* () {
      for (let left = size; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
    })(), size);
    await zip.addBuffer('after.txt', Buffer.from('after'));
    await zip.finish();
    const data = fs.readFileSync(file);
    const { entries } = readZipDirectory(data);
    assert.deepEqual(entries.map((e) => [e.name, e.size]), [
      ['before.txt', 6],
      ['big.txt', size],
      ['after.txt', 5],
    ]);
    assert.equal(readZipEntry(data, entries[2]).toString(), 'after');
    // the data descriptor after big.txt carries 8-byte sizes
    const dd = data.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]), entries[1].localOffset);
    assert.equal(Number(data.readBigUInt64LE(dd + 16)), size);
    assert.equal(data.readUInt32LE(dd + 4), entries[1].crc32);
    checkWithTools(file);
  });
});
