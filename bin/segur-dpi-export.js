#!/usr/bin/env node
'use strict';
// segur-dpi-export: the patient's history export without Node-RED (see --help). A thin launcher for the
// compiled command line (dist/lib/export/cli.js; "npm run build" produces it in a clone of the repository).
const path = require('path');

const cliFile = path.join(__dirname, '..', 'dist', 'lib', 'export', 'cli.js');
let cli;
try {
  cli = require(cliFile);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(cliFile)) {
    process.stderr.write(`segur-dpi-export: ${cliFile} is missing — run "npm run build" first\n`);
    process.exit(2);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`segur-dpi-export: ${(err && err.stack) || err}\n`);
    process.exitCode = 2;
  },
);
