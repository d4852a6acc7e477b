#!/usr/bin/env node
'use strict';
// Build: compile the TypeScript (runtime, tests, bench) with tsc into dist/, then place each node's
// editor file, help (locales/) and the pack's icons beside its compiled runtime file, where Node-RED
// looks for them (dist/nodes/<type>/<type>.html, locales/<lang>/, icons/); last, the operations
// console's page (console/, bundled by rollup into dist/console/: console/rollup.config.mjs).
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
  cwd: root,
});

function copyTree(from, to, filter) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, filter);
    else if (filter(entry.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

const nodesDir = path.join(root, 'nodes');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const [type, file] of Object.entries(pkg['node-red'].nodes)) {
  const src = path.join(nodesDir, type);
  const out = path.join(root, path.dirname(file));
  if (!fs.existsSync(path.join(out, `${type}.js`))) throw new Error(`build: ${file} was not produced by tsc`);
  copyTree(src, out, (name) => !name.endsWith('.ts'));
  copyTree(path.join(root, 'icons'), path.join(out, 'icons'), () => true);
}
// plugins (the operations console): their editor file (a sidebar tab) beside their runtime file
for (const [name, file] of Object.entries(pkg['node-red'].plugins ?? {})) {
  const out = path.join(root, path.dirname(file));
  if (!fs.existsSync(path.join(out, `${name}.js`))) throw new Error(`build: ${file} was not produced by tsc`);
  copyTree(path.join(nodesDir, name), out, (f) => !f.endsWith('.ts'));
}
console.log(`build: ${Object.keys(pkg['node-red'].nodes).length} node(s) and ${Object.keys(pkg['node-red'].plugins ?? {}).length} plugin(s) in dist/nodes`);

// the operations console's page (issue 14): after tsc, which emptied dist/
execFileSync(process.execPath, [path.join(path.dirname(require.resolve('rollup/package.json')), 'dist', 'bin', 'rollup'), '--silent', '-c', path.join(root, 'console', 'rollup.config.mjs')], {
  stdio: 'inherit',
  cwd: root,
});
if (!fs.existsSync(path.join(dist, 'console', 'index.html'))) throw new Error('build: dist/console/index.html was not produced by rollup');
console.log('build: the console page in dist/console');
