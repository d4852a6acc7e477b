// portability-export: the history of health documents of one patient, a list of patients or the whole
// establishment (DSR Ségur DPI "portabilité": LDL, CRO, ordonnances by default), as one documented ZIP
// archive produced by lib/export from the ins-store's document archive, with a configurable depth.
// File mode: the archive is written atomically in the configured folder (msg.payload: its path); buffer
// mode: the archive is built in a private temporary folder, refused beyond a size, and given as a Buffer.
// One export at a time per node (the others wait in a queue); a redeploy aborts the running export, and
// lib/export removes its partial file. The producer written in the export and the time zone are those of
// the segur-establishment the node selects, else the node's own fields (flows written before it). Errors
// are Catch-able, msg.error.code says what; nothing is sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { acquire, isInsStoreNode, release, type InsStoreNode } from '../shared/stores';
import { establishmentSource, hasLegacyExportFields } from '../shared/establishment';
import {
  PortabilityExportError,
  QUEUE_LIMIT,
  configSettings,
  defaultFilename,
  readRequest,
  unknownPatientMessage,
  type PortabilityExportDef,
  type Request,
} from './inputs';
import { documentType } from '../../lib/cda';
import { exportHistory, ExportError, isTimeZone, packageVersion, resolveDepth, type ExportResult } from '../../lib/export';
import { errorPart, exportSummary, summaryLine } from '../shared/summary';

interface Job {
  msg: NodeMessage;
  send: SendFn;
  done: DoneFn;
}

interface Running {
  controller: AbortController;
  /** Why the export was aborted (by this node): the buffer grew too large, or the node is closing. */
  reason: 'too-large' | 'closing' | null;
}

/** How often (ms) the status and, in buffer mode, the size of the archive being written are looked at. */
const PROGRESS_EVERY_MS = 200;
/** How long a close waits for the running export to stop and remove its partial file. */
const CLOSE_WAIT_MS = 20_000;

/** The msg.export summary: ExportResult without the Buffer, file null in buffer mode. */
function summary(r: ExportResult, file: string | null) {
  return {
    file,
    patients: r.patients,
    documents: r.documents,
    files: r.files,
    bytes: r.bytes,
    sha256: r.sha256,
    since: r.since,
    types: [...r.types],
    exportId: r.exportId,
    producedAt: r.producedAt,
  };
}

/** A name in `folder` not taken yet: the name, else name-2.zip … name-99.zip. */
function freeName(folder: string, name: string): string {
  if (!fs.existsSync(path.join(folder, name))) return name;
  for (let i = 2; i < 100; i++) {
    const other = name.replace(/\.zip$/i, `-${i}.zip`);
    if (!fs.existsSync(path.join(folder, other))) return other;
  }
  return name; // lib/export refuses it (OUTPUT_EXISTS): it never overwrites
}

/** Bytes of the regular files directly in `dir` (the archive being written in a private folder). */
function filesSize(dir: string): number {
  let total = 0;
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isFile()) continue;
      try {
        total += fs.statSync(path.join(dir, e.name)).size;
      } catch {
        /* renamed or removed meanwhile */
      }
    }
  } catch {
    /* the folder is gone: the export is over */
  }
  return total;
}

export = function (RED: NodeAPI) {
  const softwareVersion = packageVersion();

  function PortabilityExportNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as PortabilityExportDef;
    // the establishment; without one, the node's own fields (flows written before segur-establishment)
    const source = establishmentSource(RED, config.establishment, hasLegacyExportFields(config));
    const settings = configSettings(
      config,
      RED.settings.userDir,
      source.kind === 'establishment' ? { producer: source.node.exportProducer(), timeZone: source.node.timeZone } : undefined,
    );
    let establishmentError: PortabilityExportError | null = null;
    if (source.kind === 'missing') {
      establishmentError = new PortabilityExportError('NO_ESTABLISHMENT', RED._('portability-export.errors.establishment-node-missing', { id: source.id }));
      node.error(new Error(establishmentError.message));
    } else if (source.kind === 'invalid') {
      establishmentError = new PortabilityExportError(
        'BAD_ESTABLISHMENT',
        RED._('portability-export.errors.establishment-invalid', { label: source.node.label, problems: source.node.problems.join('; ') }),
      );
    }

    let storeNode: InsStoreNode | null = null;
    let storeMissing = false;
    if (settings.storeId) {
      const found = RED.nodes.getNode(settings.storeId);
      if (isInsStoreNode(found)) storeNode = found;
      else {
        storeMissing = true;
        node.error(new Error(RED._('portability-export.errors.no-store-node', { id: settings.storeId })));
      }
    }

    // what is wrong with the configuration, said once at deploy (the depth, zone and types are checked
    // again by lib/export at each export, where a message may give its own)
    const startup: string[] = settings.problem ? [settings.problem] : [];
    if (!isTimeZone(settings.timeZone)) startup.push(`configuration: unknown time zone "${settings.timeZone}"`);
    else {
      try {
        resolveDepth(settings.depth, new Date(), settings.timeZone);
      } catch (err) {
        startup.push(`configuration: default ${(err as Error).message}`);
      }
    }
    const unknownTypes = (settings.types ?? []).filter((t) => t !== '*' && !documentType(t));
    if (unknownTypes.length) startup.push(`configuration: unknown document type ${unknownTypes.map((t) => `"${t}"`).join(', ')}`);
    for (const p of startup) node.error(new Error(p));

    const idle = () => {
      if (source.kind === 'missing' || source.kind === 'invalid') node.status({ fill: 'red', shape: 'ring', text: RED._(`portability-export.status.establishment-${source.kind}`) });
      else if (!settings.storeId || storeMissing || storeNode?.openError) node.status({ fill: 'red', shape: 'ring', text: RED._('portability-export.status.no-store') });
      else if (startup.length) node.status({ fill: 'red', shape: 'ring', text: RED._('portability-export.status.config') });
    };
    idle();

    const queue: Job[] = [];
    let running: Promise<void> | null = null;
    let current: Running | null = null;
    let closing = false;

    const queued = () => (queue.length ? RED._('portability-export.status.queued', { n: queue.length }) : '');
    const status = (s: { fill: 'blue' | 'green' | 'red'; shape: 'dot' | 'ring'; text: string }) => {
      if (!closing) node.status(s);
    };

    /** The store for an export (a reference held until release), or NO_STORE. */
    const takeStore = () => {
      if (!storeNode) {
        throw new PortabilityExportError('NO_STORE', RED._(storeMissing ? 'portability-export.errors.store-node-missing' : 'portability-export.errors.no-store'));
      }
      try {
        storeNode.getStore();
      } catch (err) {
        throw new PortabilityExportError('NO_STORE', RED._('portability-export.errors.store-unavailable', { error: (err as Error).message }));
      }
      // the database stays open until the export ends, even if the ins-store node closes meanwhile
      const file = storeNode.file;
      return { store: acquire(file, storeNode.engine), release: () => release(file) };
    };

    const toNodeError = (err: unknown, req: Request | null, run: Running | null): PortabilityExportError => {
      if (err instanceof PortabilityExportError) return err;
      if (err instanceof ExportError) {
        if (err.code === 'ABORTED' && run?.reason === 'too-large') {
          return new PortabilityExportError('TOO_LARGE', RED._('portability-export.errors.too-large', { max: settings.maxBufferMiB }));
        }
        if (err.code === 'ABORTED' && run?.reason === 'closing') return new PortabilityExportError('ABORTED', RED._('portability-export.errors.stopped'));
        if (err.code === 'UNKNOWN_PATIENT' && req) return new PortabilityExportError('UNKNOWN_PATIENT', unknownPatientMessage(err.message, req.selection, req.origins));
        return new PortabilityExportError(err.code, err.message);
      }
      return new PortabilityExportError('INTERNAL', RED._('portability-export.errors.internal', { error: String((err as Error)?.message ?? err) }));
    };

    /** One export; resolves with the message to send, or throws a PortabilityExportError. */
    const exportOne = async (msg: NodeMessage, run: Running): Promise<NodeMessage> => {
      let req: Request | null = null;
      let tmpDir: string | null = null;
      let held: { release: () => Promise<void> } | null = null;
      try {
        if (establishmentError) throw establishmentError;
        if (settings.problem) throw new PortabilityExportError('BAD_ARGUMENT', settings.problem);
        req = readRequest(msg, settings);
        const taken = takeStore();
        held = taken;
        const now = new Date();
        const base = req.filename ?? defaultFilename(settings.establishment, req.kind, now, settings.timeZone);
        let name: string;
        let file: string;
        if (req.output === 'file') {
          if (settings.defaultFolder) {
            try {
              fs.mkdirSync(settings.folder, { recursive: true, mode: 0o700 });
            } catch (err) {
              throw new PortabilityExportError('UNWRITABLE', RED._('portability-export.errors.folder', { folder: settings.folder, error: (err as Error).message }));
            }
          }
          name = req.filename ?? freeName(settings.folder, base);
          file = path.join(settings.folder, name);
        } else {
          name = base;
          try {
            tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-dpi-export-'));
          } catch (err) {
            throw new PortabilityExportError('UNWRITABLE', RED._('portability-export.errors.tmp', { error: (err as Error).message }));
          }
          file = path.join(tmpDir, name);
        }

        let lastLook = 0;
        status({ fill: 'blue', shape: 'ring', text: RED._('portability-export.status.starting') + queued() });
        const result = await exportHistory(taken.store, req.selection, req.depth, {
          ...(req.types ? { types: req.types } : {}),
          out: { file },
          now,
          softwareVersion,
          ...(settings.producer ? { producer: settings.producer } : {}),
          timeZone: settings.timeZone,
          versions: settings.versions,
          signal: run.controller.signal,
          onProgress: ({ documents, total }) => {
            const t = Date.now();
            if (t - lastLook < PROGRESS_EVERY_MS && documents < total) return;
            lastLook = t;
            status({ fill: 'blue', shape: 'dot', text: RED._('portability-export.status.progress', { documents, total }) + queued() });
            if (tmpDir && !run.reason && filesSize(tmpDir) > settings.maxBufferBytes) {
              run.reason = 'too-large';
              run.controller.abort();
            }
          },
        });

        let payload: string | Buffer;
        if (tmpDir) {
          if (result.bytes > settings.maxBufferBytes) {
            throw new PortabilityExportError('TOO_LARGE', RED._('portability-export.errors.too-large', { max: settings.maxBufferMiB }));
          }
          payload = fs.readFileSync(result.file as string);
        } else payload = result.file as string;
        node.log(
          RED._('portability-export.log.done', {
            id: result.exportId,
            kind: req.kind,
            documents: result.documents,
            patients: result.patients,
            bytes: result.bytes,
            to: tmpDir ? 'buffer' : (result.file as string),
          }),
        );
        msg.payload = payload;
        msg.filename = name;
        msg.export = summary(result, tmpDir ? null : (result.file as string));
        msg.summary = exportSummary({ ...result, kind: req.kind });
        return msg;
      } catch (err) {
        throw toNodeError(err, req, run);
      } finally {
        if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
        if (held) await held.release().catch((err: Error) => node.warn(err.message));
      }
    };

    const handle = async (job: Job): Promise<void> => {
      const run: Running = { controller: new AbortController(), reason: null };
      current = run;
      try {
        const out = await exportOne(job.msg, run);
        const documents = (out.export as { documents: number }).documents;
        status({ fill: 'green', shape: 'dot', text: RED._('portability-export.status.done', { documents }) + queued() });
        job.send(out);
        job.done();
      } catch (err) {
        const e = err instanceof PortabilityExportError ? err : toNodeError(err, null, run);
        status({ fill: 'red', shape: 'ring', text: RED._('portability-export.status.error', { code: e.code }) + queued() });
        job.msg.summary = summaryLine('EXPORT', errorPart(e.code));
        job.done(e);
      } finally {
        current = null;
      }
    };

    const pump = () => {
      if (running || closing) return;
      const job = queue.shift();
      if (!job) return;
      running = handle(job).finally(() => {
        running = null;
        pump();
      });
    };

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      if (closing) {
        msg.summary = summaryLine('EXPORT', errorPart('ABORTED'));
        return done(new PortabilityExportError('ABORTED', RED._('portability-export.errors.stopped-queued')));
      }
      if (queue.length >= QUEUE_LIMIT) {
        status({ fill: 'red', shape: 'ring', text: RED._('portability-export.status.error', { code: 'BUSY' }) + queued() });
        msg.summary = summaryLine('EXPORT', errorPart('BUSY'));
        return done(new PortabilityExportError('BUSY', RED._('portability-export.errors.busy', { n: QUEUE_LIMIT })));
      }
      queue.push({ msg, send, done });
      if (running) status({ fill: 'blue', shape: 'dot', text: RED._('portability-export.status.waiting') + queued() });
      pump();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      for (const job of queue.splice(0)) {
        job.msg.summary = summaryLine('EXPORT', errorPart('ABORTED'));
        job.done(new PortabilityExportError('ABORTED', RED._('portability-export.errors.stopped-queued')));
      }
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        node.status({});
        done();
      };
      if (!running) return finish();
      if (current) {
        current.reason = 'closing';
        current.controller.abort();
      }
      // lib/export deletes its partial file before it rejects: the close completes once it has
      const timer = setTimeout(() => {
        node.warn(RED._('portability-export.errors.close-timeout'));
        finish();
      }, CLOSE_WAIT_MS);
      running.then(() => {
        clearTimeout(timer);
        finish();
      });
    });
  }

  RED.nodes.registerType('portability-export', PortabilityExportNode);
};
