import { strict as assert } from 'node:assert';
import { CR, FS, JunkInfo, MllpDecoder, OversizeInfo, VT, encodeFrame } from '../../lib/mllp/framing';
import { sampleMessage } from '../support/mllp';

function collect(decoder: MllpDecoder) {
  const frames: Buffer[] = [];
  const oversize: OversizeInfo[] = [];
  const junk: JunkInfo[] = [];
  decoder.on('frame', (f) => frames.push(f));
  decoder.on('oversize', (o) => oversize.push(o));
  decoder.on('junk', (j) => junk.push(j));
  return { frames, oversize, junk };
}

describe('MLLP framing', () => {
  const m1 = sampleMessage('MSG00001');
  const m2 = sampleMessage('MSG00002');
  const m3 = sampleMessage('MSG00003', { extra: 'NTE|1||Émile Zoé — ☃' });

  it('encodeFrame wraps a message in VT … FS CR', () => {
    const f = encodeFrame('MSH|x');
    assert.equal(f[0], VT);
    assert.equal(f[f.length - 2], FS);
    assert.equal(f[f.length - 1], CR);
    assert.equal(f.subarray(1, -2).toString(), 'MSH|x');
    assert.deepEqual(encodeFrame(Buffer.from([1, 2])), Buffer.from([VT, 1, 2, FS, CR]));
  });

  it('decodes one frame per chunk', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    d.push(encodeFrame(m1));
    d.push(encodeFrame(m2));
    assert.deepEqual(out.frames.map(String), [m1, m2]);
    assert.equal(out.junk.length, 0);
  });

  it('decodes frames fed one byte at a time', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    const stream = Buffer.concat([encodeFrame(m1), encodeFrame(Buffer.from(m3, 'utf8')), encodeFrame(m2)]);
    for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1));
    assert.deepEqual(out.frames.map((f) => f.toString('utf8')), [m1, m3, m2]);
    assert.equal(out.junk.length, 0);
    assert.equal(d.buffered, 0);
  });

  it('decodes frames split at every possible position', () => {
    const stream = Buffer.concat([encodeFrame(m1), encodeFrame(m2)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new MllpDecoder();
      const out = collect(d);
      d.push(stream.subarray(0, cut));
      d.push(stream.subarray(cut));
      assert.deepEqual(out.frames.map(String), [m1, m2], `cut at ${cut}`);
    }
  });

  it('decodes several frames in one chunk, with an end marker split from the next chunk', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    const stream = Buffer.concat([encodeFrame(m1), encodeFrame(m2), encodeFrame(m3)]);
    // cut between FS and CR of the second frame
    const cut = encodeFrame(m1).length + encodeFrame(m2).length - 1;
    d.push(stream.subarray(0, cut));
    assert.equal(out.frames.length, 1);
    d.push(stream.subarray(cut));
    assert.deepEqual(out.frames.map(String), [m1, m2, m3]);
  });

  it('decodes many small frames in a single chunk', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    const msgs = Array.from({ length: 500 }, (_, i) => sampleMessage(`ID${i}`));
    d.push(Buffer.concat(msgs.map((m) => encodeFrame(m))));
    assert.equal(out.frames.length, 500);
    assert.deepEqual(out.frames.map(String), msgs);
  });

  it('ignores CR / LF between frames and reports other junk by size only', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    d.push(Buffer.concat([Buffer.from('garbage!'), encodeFrame(m1), Buffer.from('\r\n'), encodeFrame(m2), Buffer.from('xyz')]));
    assert.deepEqual(out.frames.map(String), [m1, m2]);
    assert.deepEqual(out.junk, [{ reason: 'outside-frame', bytes: 8 }]);
    d.push(encodeFrame(m3));
    assert.deepEqual(out.junk, [
      { reason: 'outside-frame', bytes: 8 },
      { reason: 'outside-frame', bytes: 3 },
    ]);
    assert.equal(out.frames.length, 3);
  });

  it('keeps a lone FS (not followed by CR) inside the content', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    const body = Buffer.from([0x41, FS, 0x42, FS]);
    d.push(Buffer.from([VT, 0x41, FS]));
    d.push(Buffer.from([0x42, FS]));
    d.push(Buffer.from([FS, CR]));
    assert.deepEqual(out.frames, [body]);
  });

  it('drops an unterminated frame when a new frame starts, and reports it', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    d.push(Buffer.concat([Buffer.from([VT]), Buffer.from('MSH|partial'), encodeFrame(m1)]));
    assert.deepEqual(out.frames.map(String), [m1]);
    assert.deepEqual(out.junk, [{ reason: 'unterminated-frame', bytes: 12 }]);
  });

  it('end() reports a truncated frame', () => {
    const d = new MllpDecoder();
    const out = collect(d);
    d.push(encodeFrame(m1).subarray(0, 20));
    d.end();
    assert.deepEqual(out.junk, [{ reason: 'truncated-frame', bytes: 20 }]);
    d.push(encodeFrame(m2));
    assert.deepEqual(out.frames.map(String), [m2]);
  });

  it('skips an oversize frame without buffering it, then decodes the next frames', () => {
    const max = 1000;
    const d = new MllpDecoder({ maxMessageSize: max, headBytes: 200 });
    const out = collect(d);
    const big = sampleMessage('BIG00001', { extra: 'NTE|1||' + 'x'.repeat(50_000) });
    const stream = Buffer.concat([encodeFrame(big), encodeFrame(m1)]);
    let maxBuffered = 0;
    for (let i = 0; i < stream.length; i += 333) {
      d.push(stream.subarray(i, i + 333));
      maxBuffered = Math.max(maxBuffered, d.buffered);
    }
    assert.equal(out.oversize.length, 1);
    assert.equal(out.oversize[0].size, Buffer.byteLength(big));
    assert.equal(out.oversize[0].head.length, 200);
    assert.equal(out.oversize[0].head.toString(), big.slice(0, 200));
    assert.ok(maxBuffered <= max + 333, `buffered up to ${maxBuffered} bytes`);
    assert.deepEqual(out.frames.map(String), [m1]);
  });

  it('accepts a frame of exactly the maximum size, even with its end marker split', () => {
    const body = Buffer.alloc(100, 0x41);
    for (let cut = 95; cut <= 103; cut++) {
      const d = new MllpDecoder({ maxMessageSize: 100 });
      const out = collect(d);
      const f = encodeFrame(body);
      d.push(f.subarray(0, cut));
      d.push(f.subarray(cut));
      assert.equal(out.oversize.length, 0, `cut ${cut}`);
      assert.deepEqual(out.frames, [body]);
    }
    const d = new MllpDecoder({ maxMessageSize: 99 });
    const out = collect(d);
    d.push(encodeFrame(body));
    assert.deepEqual(
      out.oversize.map((o) => o.size),
      [100],
    );
  });

  it('decodes a 5 MB frame arriving in 64 KiB (and 512-byte) chunks with linear work: each byte scanned a bounded number of times, joined once', function () {
    this.timeout(20_000);
    const payload = Buffer.alloc(5 * 1024 * 1024, 0x61);
    Buffer.from(sampleMessage('BIG')).copy(payload);
    const frame = encodeFrame(payload);
    for (const chunkSize of [64 * 1024, 512]) {
      const d = new MllpDecoder();
      let got: Buffer | null = null;
      d.on('frame', (f) => (got = f));
      // count the work instead of timing it: bytes searched by indexOf and bytes copied by Buffer.concat
      const work = { scanned: 0, copied: 0 };
      const indexOf = Buffer.prototype.indexOf;
      const concat = Buffer.concat;
      Buffer.prototype.indexOf = function (this: Buffer, value: unknown, from?: unknown, enc?: unknown) {
        work.scanned += this.length - (typeof from === 'number' ? from : 0);
        return indexOf.call(this, value as number, from as number, enc as BufferEncoding);
      } as typeof indexOf;
      Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
        work.copied += total ?? list.reduce((n, b) => n + b.length, 0);
        return concat(list, total);
      }) as typeof concat;
      try {
        for (let i = 0; i < frame.length; i += chunkSize) d.push(frame.subarray(i, i + chunkSize));
      } finally {
        Buffer.prototype.indexOf = indexOf;
        Buffer.concat = concat;
      }
      assert.ok(got, `chunks of ${chunkSize}`);
      assert.ok((got as Buffer).equals(payload));
      // FS and VT are each searched for in new data: about twice the frame; concatenating (or rescanning)
      // the whole frame at each 512-byte chunk would be ~26 GB of work
      assert.ok(work.scanned <= 4 * frame.length, `chunks of ${chunkSize}: ${work.scanned} bytes scanned for a ${frame.length}-byte frame`);
      assert.ok(work.copied <= frame.length, `chunks of ${chunkSize}: ${work.copied} bytes copied for a ${frame.length}-byte frame`);
    }
  });

  it('reports a 50 MB oversize frame in 64 KiB chunks keeping only its head', function () {
    this.timeout(10_000);
    const d = new MllpDecoder(); // default 10 MiB
    const out = collect(d);
    const head = Buffer.from(sampleMessage('HUGE0001'));
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    d.push(Buffer.concat([Buffer.from([VT]), head]));
    let sent = head.length;
    let maxBuffered = 0;
    while (sent < 50 * 1024 * 1024) {
      d.push(chunk);
      sent += chunk.length;
      maxBuffered = Math.max(maxBuffered, d.buffered);
    }
    d.push(Buffer.from([FS, CR]));
    d.push(encodeFrame(m1));
    assert.equal(out.oversize.length, 1);
    assert.equal(out.oversize[0].size, sent);
    assert.equal(out.oversize[0].head.length, 64 * 1024);
    assert.ok(out.oversize[0].head.subarray(0, head.length).equals(head));
    assert.ok(maxBuffered <= 10 * 1024 * 1024 + 64 * 1024);
    assert.deepEqual(out.frames.map(String), [m1]);
  });
});
