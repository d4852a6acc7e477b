// archiver 8 (ESM, classes) has no published types (@types/archiver describes v7's factory); what the
// benchmark uses of it.
declare module 'archiver' {
  import type { Readable, Transform } from 'node:stream';
  export interface ZipOptions {
    comment?: string;
    forceZip64?: boolean;
    store?: boolean;
    zlib?: { level?: number };
    highWaterMark?: number;
  }
  export interface EntryData {
    name: string;
    date?: Date | string;
    mode?: number;
    store?: boolean;
  }
  export class ZipArchive extends Transform {
    constructor(options?: ZipOptions);
    append(source: Buffer | Readable | string, data: EntryData): this;
    finalize(): Promise<void>;
    abort(): this;
    pointer(): number;
    on(event: 'entry', listener: (data: EntryData) => void): this;
    on(event: 'warning' | 'error', listener: (err: Error) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }
}
