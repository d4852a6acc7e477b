// Prints benchmark results as an aligned text table (the README quotes it as is), and the measuring
// helpers the suites share.
import fs from 'node:fs';
export interface BenchTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

function cell(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
    if (Math.abs(v) >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }
  return v;
}

export function formatTable(t: BenchTable): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map(cell))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  const out = [`### ${t.title}`, '', line(cells[0]), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|'];
  for (const r of cells.slice(1)) out.push(line(r));
  for (const n of t.notes ?? []) out.push('', n);
  return out.join('\n') + '\n';
}

/** Runs fn repeatedly for at least minMs (after a warm-up) and returns operations per second. */
export function opsPerSecond(fn: () => void, minMs = 1500, warmupMs = 300): number {
  const until = (ms: number) => {
    const start = process.hrtime.bigint();
    let n = 0;
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    } while (elapsed < ms);
    return { n, elapsed };
  };
  until(warmupMs);
  const { n, elapsed } = until(minMs);
  return (n * 1000) / elapsed;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** The median time of fn in ms over `runs` runs, after 3 warm-up runs. */
export async function medianMs(fn: () => unknown, runs: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

/**
 * This process's peak resident set in MiB (VmHWM): unlike getrusage's maxRSS, which a child inherits
 * from the parent it was forked from, it starts afresh at exec — so a child process measures its own work.
 */
export function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}
