// Append-only scratch files for the parts of the archive written after the documents (manifests,
// FHIR bundle): on disk in the export's work folder (memory stays flat however many documents), or in
// memory for an export to a Buffer. Each spool hashes (SHA-256) what it holds as it is written.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

const FLUSH_AT = 256 * 1024;

export class Spool {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest: string | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fd: number | null = null;
  private readonly memory: Buffer[] | null;

  /** file: the scratch file (created, must not exist); null: in memory. */
  constructor(readonly file: string | null) {
    this.memory = file === null ? [] : null;
    if (file !== null) this.fd = fs.openSync(file, 'wx', 0o600);
  }

  write(data: string | Buffer): void {
    if (this.digest !== null) throw new Error('spool: written after close');
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.hash.update(b);
    this.bytes += b.length;
    if (this.memory) {
      this.memory.push(b);
      return;
    }
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= FLUSH_AT) this.flush();
  }

  /** Appends what another (closed) spool holds. */
  append(other: Spool): void {
    for (const chunk of other.chunks()) this.write(chunk);
  }

  private flush(): void {
    if (this.fd === null || !this.pendingBytes) return;
    const b = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Ends writing; returns the SHA-256 (hex) of the content. */
  close(): string {
    if (this.digest === null) {
      this.flush();
      if (this.fd !== null) {
        fs.closeSync(this.fd);
        this.fd = null;
      }
      this.digest = this.hash.digest('hex');
    }
    return this.digest;
  }

  get sha256(): string {
    if (this.digest === null) throw new Error('spool: not closed');
    return this.digest;
  }

  /** The content, chunk by chunk (at most 1 MiB read at a time from disk). */
  *chunks(): Generator<Buffer> {
    this.close();
    if (this.memory) {
      yield* this.memory;
      return;
    }
    const fd = fs.openSync(this.file as string, 'r');
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) return;
        yield Buffer.from(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  stream(): Readable {
    return Readable.from(this.chunks(), { objectMode: false });
  }

  /** Closes the file if still open (on failure); the work folder is removed by the caller. */
  dispose(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already failing */
      }
      this.fd = null;
    }
  }
}

/** A spool per name in `dir` (null: in memory). */
export function spoolIn(dir: string | null, name: string): Spool {
  return new Spool(dir === null ? null : path.join(dir, name));
}
