#!/usr/bin/env node
'use strict';
// segur-dpi-store: moves a store from SQLite to PostgreSQL, verifiably (see --help). A thin launcher for the
// compiled command line (dist/lib/store/cli.js; "npm run build" produces it in a clone of the repository).
const path = require('path');

const cliFile = path.join(__dirname, '..', 'dist', 'lib', 'store', 'cli.js');
let cli;
try {
  cli = require(cliFile);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(cliFile)) {
    process.stderr.write(`segur-dpi-store: ${cliFile} is missing — run "npm run build" first\n`);
    process.exit(2);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`segur-dpi-store: ${(err && err.stack) || err}\n`);
    process.exitCode = 2;
  },
);
