// The operations console's page (issue 14): console/src/*.ts bundled by rollup into one script,
// dist/console/console.js, beside index.html and console.css (copied as they are). No framework, no CDN:
// the page is served by Node-RED from the package (nodes/segur-console/page.ts) on closed networks.
// Run by scripts/build.js after tsc (which empties dist/ first).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import typescript from '@rollup/plugin-typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'dist', 'console');

/** Copies the page's static files (index.html, console.css) into dist/console/. */
function copyStatic(files) {
  return {
    name: 'segur-console-static',
    generateBundle() {
      for (const f of files) this.emitFile({ type: 'asset', fileName: f, source: fs.readFileSync(path.join(here, f)) });
    },
  };
}

export default {
  input: path.join(here, 'src', 'main.ts'),
  output: { file: path.join(out, 'console.js'), format: 'iife', sourcemap: false },
  plugins: [typescript({ tsconfig: path.join(here, 'tsconfig.json'), outDir: out, noEmitOnError: true }), copyStatic(['index.html', 'console.css'])],
};
