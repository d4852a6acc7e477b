// segur-dpi-store: moves an establishment's store from its SQLite file to a shared PostgreSQL database
// (issue 15), verifiably: counts and checksums of every table printed for both sides.
// Exit status: 0 copied and identical; 1 usage error; 2 error (message on stderr); 3 copied but a table
// differs (never expected: the copy is kept for inspection).
import { parseArgs } from 'node:util';
import { packageVersion } from '../export/version';
import { copySqliteToPostgres, postgresSums, sqliteSums, type TableSum } from './copy';
import { PostgresIdentityStore, redactUrl } from './postgres';

export const USAGE = `Usage: segur-dpi-store migrate --from sqlite:FILE --to postgres://[user[:password]@]host[:port]/database
       segur-dpi-store checksums (sqlite:FILE | postgres://…)

migrate    copies every table of the SQLite store FILE (the Node-RED user dir's segur-dpi/ins-store.db)
           into the PostgreSQL database, which must hold no store rows yet (its tables are created by the
           same versioned migrations as ins-store's), in one transaction: all or nothing. Stop the
           Node-RED instance writing FILE first. Then prints, per table, the rows and the SHA-256 of the
           rows on both sides: equal on every line means the copy holds exactly what the file holds.
checksums  prints the same counts and checksums for one store, e.g. later, to check a copy again.

Options
  --from sqlite:FILE       the SQLite store (a file of an earlier schema is first migrated in place,
                           as Node-RED does when it opens it)
  --to postgres://…        the PostgreSQL database; the password may come from PGPASSWORD instead
  --json                   print the report as JSON
  -h, --help               this help;  -V, --version  the version

Exit status: 0 done (migrate: every table identical); 1 usage error; 2 error, message on stderr;
3 migrate: a table differs.

Example: segur-dpi-store migrate --from sqlite:/var/lib/node-red/segur-dpi/ins-store.db \\
           --to postgres://segur@db.ght.example:5432/segur_dpi`;

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const SYSTEM_IO: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

class UsageError extends Error {}

function sqliteFile(spec: string): string {
  if (!spec.startsWith('sqlite:') || spec.length <= 'sqlite:'.length) throw new UsageError(`--from: sqlite:FILE expected, got "${spec}"`);
  return spec.slice('sqlite:'.length);
}

function postgresUrl(spec: string): string {
  if (!/^postgres(ql)?:\/\/./.test(spec)) throw new UsageError(`--to: postgres://… expected`);
  return spec;
}

/** One line per table: rows and checksum on each side, and whether they agree. */
export function formatSums(left: { label: string; sums: TableSum[] }, right?: { label: string; sums: TableSum[] }): string {
  const lines = [right ? `table                 rows  sha256 (${left.label})                                          rows  sha256 (${right.label})` : `table                 rows  sha256 (${left.label})`];
  left.sums.forEach((s, i) => {
    const r = right?.sums[i];
    const same = r ? (r.rows === s.rows && r.sha256 === s.sha256 ? '  identical' : '  DIFFERS') : '';
    lines.push(`${s.table.padEnd(20)} ${String(s.rows).padStart(5)}  ${s.sha256}${r ? `  ${String(r.rows).padStart(5)}  ${r.sha256}` : ''}${same}`);
  });
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[], io: Io = SYSTEM_IO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
    });
  } catch (err) {
    io.stderr(`segur-dpi-store: ${(err as Error).message}\n${USAGE}\n`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    io.stdout(`segur-dpi-store ${packageVersion()}\n`);
    return 0;
  }
  try {
    const [command, target] = positionals;
    if (command === 'migrate') {
      if (positionals.length !== 1 || !values.from || !values.to) throw new UsageError('migrate needs --from sqlite:FILE and --to postgres://…');
      const file = sqliteFile(values.from);
      const url = postgresUrl(values.to);
      const report = await copySqliteToPostgres(file, { url, poolSize: 2, applicationName: 'segur-dpi-store migrate' }, (line) => {
        if (!values.json) io.stdout(`${line}\n`);
      });
      if (values.json) io.stdout(`${JSON.stringify({ from: file, to: redactUrl(url), ...report }, null, 2)}\n`);
      else {
        io.stdout(formatSums({ label: 'sqlite', sums: report.source }, { label: 'postgres', sums: report.target }));
        io.stdout(report.identical ? 'every table identical: the PostgreSQL store holds what the SQLite file holds\n' : 'a table DIFFERS: do not switch the instances over; the copy is kept for inspection\n');
      }
      return report.identical ? 0 : 3;
    }
    if (command === 'checksums') {
      if (positionals.length !== 2) throw new UsageError('checksums needs one store: sqlite:FILE or postgres://…');
      let sums: TableSum[];
      let label: string;
      if (target.startsWith('sqlite:')) {
        label = 'sqlite';
        sums = sqliteSums(sqliteFile(target));
      } else {
        label = 'postgres';
        const store = await PostgresIdentityStore.open({ url: postgresUrl(target), poolSize: 1, applicationName: 'segur-dpi-store checksums' });
        try {
          sums = await postgresSums(store);
        } finally {
          await store.close();
        }
      }
      io.stdout(values.json ? `${JSON.stringify(sums, null, 2)}\n` : formatSums({ label, sums }));
      return 0;
    }
    throw new UsageError(command ? `unknown command "${command}"` : 'a command: migrate or checksums');
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`segur-dpi-store: ${err.message}\n${USAGE}\n`);
      return 1;
    }
    io.stderr(`segur-dpi-store: ${(err as Error).message}\n`);
    return 2;
  }
}
