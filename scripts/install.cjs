#!/usr/bin/env node
// npm install hook. Never fails the install:
//   1. a prebuilt binary (prebuilds/) or an existing build that loads: done;
//   2. OpenBLAS found: build the addon from source with node-gyp;
//   3. otherwise, or if the build fails: say once how to get the fast path
//      and leave the pure-TypeScript backend to run.
// `npm install --build-from-source` skips step 1.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const HINT = 'To get the fast native backend: apt-get install libopenblas-dev && npm rebuild gatedrnn';

function log(message) {
  console.log(`gatedrnn: ${message}`);
}

function loadsAlready() {
  if (process.env.npm_config_build_from_source === 'true') return false;
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

function hasOpenBlas() {
  try {
    execFileSync('pkg-config', ['--exists', 'openblas'], { stdio: 'ignore' });
    return true;
  } catch {
    const headers = [
      '/usr/include/cblas.h',
      '/usr/include/openblas/cblas.h',
      `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/cblas.h`,
      '/opt/homebrew/opt/openblas/include/cblas.h',
      '/usr/local/opt/openblas/include/cblas.h',
    ];
    return headers.some((h) => fs.existsSync(h));
  }
}

function buildFromSource() {
  const nodeGyp = process.env.npm_config_node_gyp;
  const [cmd, args] = nodeGyp && fs.existsSync(nodeGyp) ? [process.execPath, [nodeGyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

function main() {
  if (loadsAlready()) {
    log('native backend ready (prebuilt or already built).');
    return;
  }
  if (!hasOpenBlas()) {
    log('no prebuilt binary for this platform and no OpenBLAS found: installed with the pure-TypeScript backend.');
    log(HINT);
    return;
  }
  log('building the native addon against OpenBLAS...');
  if (buildFromSource()) {
    log('native backend built.');
    return;
  }
  log('the native build failed (see above): installed with the pure-TypeScript backend.');
  log(`${HINT} (a C++17 compiler and python3 are needed too)`);
}

main();
