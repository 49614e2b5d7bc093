#!/usr/bin/env node
'use strict';
// The gatedrnn command line: see `gatedrnn --help` and lib/cli/main.ts.
const path = require('node:path');
const fs = require('node:fs');

const cli = path.join(__dirname, '..', 'dist', 'cli.cjs');
if (!fs.existsSync(cli)) {
  process.stderr.write(`gatedrnn: ${cli} is missing: the TypeScript sources are not built (in a clone of the repository: npm install, or npm run build:ts)\n`);
  process.exit(1);
}
require(cli).run(process.argv);
