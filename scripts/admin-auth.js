'use strict';
// The editor's login for `npm start` (scripts/node-red.js): Node-RED's editor and admin API deploy flows,
// and a flow can run commands as the Node-RED user (exec, function nodes), so they are never served
// without authentication beyond this machine.
//
// - On first start, when the settings configure no adminAuth, an admin user is generated: user "admin",
//   a random password printed once on the console, stored hashed (bcrypt, what Node-RED's adminAuth
//   "credentials" type checks) in <user dir>/segur-dpi-admin.json, mode 0600. The settings.js that
//   `npm start` copies into the user dir reads that file (see scripts/settings.js).
// - A Node-RED whose settings have no adminAuth (a settings.js of your own, or one copied by an earlier
//   release) is refused when its editor would listen beyond the loopback interface (uiHost other than
//   127.0.0.1, ::1, localhost), and warned about on the loopback interface.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

/** The file holding the generated admin user, in the user dir. */
const ADMIN_FILE = 'segur-dpi-admin.json';
const ADMIN_USERNAME = 'admin';

/** bcryptjs as Node-RED itself ships it (a dependency of node-red and @node-red/editor-api). */
function bcrypt() {
  const from = [path.dirname(require.resolve('node-red/package.json')), path.dirname(require.resolve('@node-red/editor-api/package.json'))];
  return require(require.resolve('bcryptjs', { paths: from }));
}

/** Writes the admin user file (0600, never overwriting one): the password is stored as a bcrypt hash. */
function writeAdminUser(userDir, username, password, rounds = 10) {
  const file = path.join(userDir, ADMIN_FILE);
  const user = { username, password: bcrypt().hashSync(password, rounds), permissions: '*', created: new Date().toISOString() };
  fs.mkdirSync(userDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify(user, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return file;
}

/** Generates the admin user with a random password; returns the password (to be shown once). */
function createAdminUser(userDir) {
  const password = crypto.randomBytes(18).toString('base64url');
  const file = writeAdminUser(userDir, ADMIN_USERNAME, password);
  return { username: ADMIN_USERNAME, password, file };
}

/** Whether the editor's bind address (settings.uiHost) is the loopback interface only. */
function isLoopback(host) {
  if (host === undefined || host === null || host === '') return false; // Node-RED's default: every interface
  const h = String(host).trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * What to do with these settings: 'ok' (a login is required, or there is no editor), 'warn' (no login,
 * on the loopback interface only), 'refuse' (no login, reachable beyond this machine).
 */
function accessDecision(settings) {
  if (settings.httpAdminRoot === false) return 'ok'; // no editor, no admin API
  if (settings.adminAuth) return 'ok';
  return isLoopback(settings.uiHost) ? 'warn' : 'refuse';
}

module.exports = { ADMIN_FILE, ADMIN_USERNAME, writeAdminUser, createAdminUser, isLoopback, accessDecision };
