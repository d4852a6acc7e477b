#!/usr/bin/env node
'use strict';
// segur-dpi-store: moves a store from SQLite to PostgreSQL, verifiably (see --help); dist/lib/store/cli.js.
require('./launch')('segur-dpi-store', 'store', 'cli.js');
