// The pack's version, written in every export (how the export was produced).
import fs from 'node:fs';
import path from 'node:path';

/** This package's version (package.json found above this file). */
export function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'node-red-contrib-segur-dpi' && pkg.version) return pkg.version;
    } catch {
      /* keep looking */
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
