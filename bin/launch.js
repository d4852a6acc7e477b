'use strict';
// The launcher the package's commands share: runs main(argv) of a compiled command line under dist/lib
// ("npm run build" produces it in a clone of the repository), its promise's number as the exit code; a
// missing build, or a failure, said on stderr under the command's name (exit 2).
const path = require('path');

module.exports = function launch(name, ...cliPath) {
  const cliFile = path.join(__dirname, '..', 'dist', 'lib', ...cliPath);
  let cli;
  try {
    cli = require(cliFile);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(cliFile)) {
      process.stderr.write(`${name}: ${cliFile} is missing — run "npm run build" first\n`);
      process.exit(2);
    }
    throw err;
  }
  cli.main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`${name}: ${(err && err.stack) || err}\n`);
      process.exitCode = 2;
    },
  );
};
