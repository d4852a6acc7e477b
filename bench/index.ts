// `npm run bench`: every benchmark of the pack, printed as tables (quoted in the README).
import os from 'node:os';
import { formatTable, type BenchTable } from './table';

const suites: Record<string, () => Promise<{ run(): Promise<BenchTable[]> }>> = {
  codec: () => import('./codec'),
  mllp: () => import('./mllp'),
  adt: () => import('./adt'),
  'adt-postgres': () => import('./adt-postgres'),
  cda: () => import('./cda'),
  ingest: () => import('./ingest'),
  export: () => import('./export'),
  journal: () => import('./journal'),
};

async function main() {
  const only = process.argv.slice(2);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}\n`);
  for (const [name, load] of Object.entries(suites)) {
    if (only.length && !only.includes(name)) continue;
    const tables = await (await load()).run();
    for (const t of tables) console.log(formatTable(t));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
