#!/usr/bin/env node
'use strict';
// segur-dpi-export: the patient's history export without Node-RED (see --help); dist/lib/export/cli.js.
require('./launch')('segur-dpi-export', 'export', 'cli.js');
