// MLLP (Minimal Lower Layer Protocol, HL7 v2 transport over TCP) framing:
//
//   <VT 0x0B> message bytes <FS 0x1C><CR 0x0D>
//
// MllpDecoder is fed the chunks a socket delivers, in order, and emits one `frame` event per complete
// message. It copes with frames split across any number of chunks (down to one byte per chunk),
// several frames in one chunk, and bytes outside frames ("junk", reported by count only, never by
// content). A frame longer than `maxMessageSize` is not buffered: only its first `headBytes` bytes are
// kept (enough for the MSH segment, so the receiver can still address an AR acknowledgement), the rest
// is dropped as it arrives, and an `oversize` event is emitted when the frame ends; decoding then goes
// on with the following frames.
//
// Cost is linear in the bytes received: chunks of a frame are kept in a list and joined once when the
// frame ends, and the end marker is searched for in new data only.
//
// A ByteBudget shared by the decoders of one listener bounds the bytes they hold together: a frame
// whose next chunk does not fit is dropped like an oversize one (its head kept, `oversize` with reason
// 'budget' at its end), so that many unfinished frames cannot take the memory of the process.
import { EventEmitter } from 'node:events';

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;
const LF = 0x0a;

export const DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024;
export const DEFAULT_HEAD_BYTES = 64 * 1024;

const START = Buffer.from([VT]);
const END = Buffer.from([FS, CR]);
const FS_BYTE = Buffer.from([FS]);

/** Wraps one message in an MLLP frame (a string is encoded as UTF-8; encode it yourself for another charset). */
export function encodeFrame(message: Buffer | string): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return Buffer.concat([START, body, END], body.length + 3);
}

/** Bytes of unfinished frames that the decoders sharing it may hold together (one listener's memory). */
export class ByteBudget {
  private usedBytes = 0;

  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new RangeError('ByteBudget: the limit must be a positive number');
  }

  /** Bytes held now. */
  get used(): number {
    return this.usedBytes;
  }

  /** Takes n bytes if they fit; false (nothing taken) when they do not. */
  take(n: number): boolean {
    if (this.usedBytes + n > this.limit) return false;
    this.usedBytes += n;
    return true;
  }

  give(n: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - n);
  }
}

export interface MllpDecoderOptions {
  /** Largest message (frame content, without the 3 framing bytes) that is delivered; default 10 MiB. */
  maxMessageSize?: number;
  /** How many leading bytes of an oversize frame are kept for the `oversize` event; default 64 KiB. */
  headBytes?: number;
  /** Shared with the other decoders of a listener: the bytes of unfinished frames they may hold together. */
  budget?: ByteBudget;
}

export interface OversizeInfo {
  /** The first bytes of the frame (at most `headBytes`; enough to read its MSH segment). */
  head: Buffer;
  /** Total size of the frame content in bytes. */
  size: number;
  /** Why it was not delivered: larger than maxMessageSize, or beyond the listener's byte budget. */
  reason: 'size' | 'budget';
}

export type JunkReason =
  /** bytes between frames (other than CR / LF, which are ignored) */
  | 'outside-frame'
  /** a frame start (VT) arrived before the previous frame ended: the unfinished frame is dropped */
  | 'unterminated-frame'
  /** the stream ended in the middle of a frame (see `end()`) */
  | 'truncated-frame';

export interface JunkInfo {
  reason: JunkReason;
  /** Number of bytes discarded (content is never reported). */
  bytes: number;
}

export interface MllpDecoderEvents {
  frame: [message: Buffer];
  /** The current frame stops being buffered (too large, or beyond the budget); `oversize` follows at its end. */
  dropping: [reason: OversizeInfo['reason']];
  oversize: [info: OversizeInfo];
  junk: [info: JunkInfo];
}

export class MllpDecoder extends EventEmitter<MllpDecoderEvents> {
  readonly maxMessageSize: number;
  readonly headBytes: number;
  private readonly budget: ByteBudget | null;

  private inFrame = false;
  /** chunks of the current frame (when not oversize) */
  private chunks: Buffer[] = [];
  /** bytes of the current frame received so far (all of them, even when oversize) */
  private size = 0;
  private oversize = false;
  private oversizeReason: OversizeInfo['reason'] = 'size';
  /** bytes taken from the budget for the current frame */
  private held = 0;
  /** frames ended so far (delivered, oversize or dropped) */
  private endedFrames = 0;
  /** the last byte of the previous chunk was an FS that may start the end marker */
  private pendingFs = false;
  /** junk bytes seen outside frames, not yet reported */
  private junkBytes = 0;

  constructor(opts: MllpDecoderOptions = {}) {
    super();
    this.maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.headBytes = Math.min(opts.headBytes ?? DEFAULT_HEAD_BYTES, Math.max(this.maxMessageSize, 1));
    this.budget = opts.budget ?? null;
    if (!(this.maxMessageSize > 0)) throw new RangeError('maxMessageSize must be a positive number');
    if (!(this.headBytes > 0)) throw new RangeError('headBytes must be a positive number');
  }

  /**
   * Whether bytes were received that did not (yet) make a complete frame: a frame under way, or junk
   * outside frames not yet reported. A connection that stays busy too long is trickling (slowloris).
   */
  get busy(): boolean {
    return this.inFrame || this.junkBytes > 0;
  }

  /** Frames ended so far: delivered, oversize, or dropped unfinished. */
  get ended(): number {
    return this.endedFrames;
  }

  /** Bytes currently held for an unfinished frame. */
  get buffered(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** Feeds the next chunk of the stream. Events are emitted synchronously, in stream order. */
  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    // next VT at or after pos (cached so that many small frames in one chunk stay linear)
    let nextVt = -2;
    const findVt = (from: number): number => {
      if (nextVt === -1 || nextVt >= from) return nextVt;
      nextVt = chunk.indexOf(VT, from);
      return nextVt;
    };

    while (pos < len) {
      if (!this.inFrame) {
        const vt = findVt(pos);
        const stop = vt < 0 ? len : vt;
        for (let i = pos; i < stop; i++) {
          const b = chunk[i];
          if (b !== CR && b !== LF) this.junkBytes++;
        }
        if (vt < 0) return;
        this.flushJunk();
        this.startFrame();
        pos = vt + 1;
        continue;
      }

      // in a frame: an end marker split across chunks?
      if (this.pendingFs) {
        this.pendingFs = false;
        if (chunk[pos] === CR) {
          this.endFrame();
          pos += 1;
          continue;
        }
        this.append(FS_BYTE); // it was a lone FS inside the content
      }

      const fs = chunk.indexOf(FS, pos);
      const vt = findVt(pos);
      if (vt >= 0 && (fs < 0 || vt < fs)) {
        // a new frame starts before this one ended
        this.append(chunk.subarray(pos, vt));
        this.abandonFrame('unterminated-frame');
        this.startFrame();
        pos = vt + 1;
        continue;
      }
      if (fs < 0) {
        this.append(chunk.subarray(pos));
        return;
      }
      if (fs + 1 < len) {
        if (chunk[fs + 1] === CR) {
          this.append(chunk.subarray(pos, fs));
          this.endFrame();
          pos = fs + 2;
        } else {
          // a lone FS inside the content: keep it as data
          this.append(chunk.subarray(pos, fs + 1));
          pos = fs + 1;
        }
        continue;
      }
      // FS is the last byte of the chunk: the next chunk tells whether it ends the frame
      this.append(chunk.subarray(pos, fs));
      this.pendingFs = true;
      return;
    }
  }

  /**
   * Signals the end of the stream (socket closed): an unfinished frame is dropped and reported as
   * `truncated-frame` junk, pending junk is reported. The decoder is reset and may be reused.
   */
  end(): void {
    if (this.inFrame) this.abandonFrame('truncated-frame');
    this.flushJunk();
  }

  /** Forgets any partial frame and pending junk without reporting them. */
  reset(): void {
    this.release();
    this.inFrame = false;
    this.chunks = [];
    this.size = 0;
    this.oversize = false;
    this.pendingFs = false;
    this.junkBytes = 0;
  }

  private startFrame(): void {
    this.inFrame = true;
    this.chunks = [];
    this.size = 0;
    this.oversize = false;
    this.oversizeReason = 'size';
    this.pendingFs = false;
  }

  /** Gives the bytes held for the current frame back to the budget. */
  private release(): void {
    if (this.held && this.budget) this.budget.give(this.held);
    this.held = 0;
  }

  private append(part: Buffer): void {
    if (!part.length) return;
    this.size += part.length;
    if (!this.oversize) {
      const fits = this.size <= this.maxMessageSize;
      if (fits && (!this.budget || this.budget.take(part.length))) {
        if (this.budget) this.held += part.length;
        this.chunks.push(part);
        return;
      }
      // crossed the limit (or the listener's budget): keep only the head, drop everything else from now on
      this.oversize = true;
      this.oversizeReason = fits ? 'budget' : 'size';
      this.chunks.push(part);
      // (concat copies, so the head does not pin the socket's larger buffers in memory)
      this.chunks = [Buffer.concat(this.chunks, Math.min(this.size, this.headBytes))];
      this.release();
      this.emit('dropping', this.oversizeReason);
    }
  }

  private endFrame(): void {
    const chunks = this.chunks;
    const size = this.size;
    const oversize = this.oversize;
    const reason = this.oversizeReason;
    this.release();
    this.inFrame = false;
    this.chunks = [];
    this.size = 0;
    this.oversize = false;
    this.endedFrames++;
    if (oversize) {
      this.emit('oversize', { head: chunks[0], size, reason });
    } else {
      this.emit('frame', chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    }
  }

  private abandonFrame(reason: JunkReason): void {
    const bytes = this.size + 1 + (this.pendingFs ? 1 : 0); // + the VT (+ a held FS)
    this.release();
    this.endedFrames++;
    this.inFrame = false;
    this.chunks = [];
    this.size = 0;
    this.oversize = false;
    this.pendingFs = false;
    this.emit('junk', { reason, bytes });
  }

  private flushJunk(): void {
    if (this.junkBytes > 0) {
      const bytes = this.junkBytes;
      this.junkBytes = 0;
      this.emit('junk', { reason: 'outside-frame', bytes });
    }
  }
}
