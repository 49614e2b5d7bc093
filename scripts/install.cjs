#!/usr/bin/env node
// npm install hook. Never fails the install:
//   1. a local build or a prebuilt binary (prebuilds/<platform>-<arch>/) that
//      loads: done, nothing is compiled;
//   2. OpenBLAS found: build the addon from source with node-gyp;
//   3. otherwise, or if the build fails: say once how to get the fast path
//      and leave the pure-TypeScript backend to run.
// `npm install --build-from-source` (npm_config_build_from_source=true, or
// GATEDRNN_BUILD_FROM_SOURCE=1 for npm versions that drop unknown flags)
// skips step 1; the local build then wins over the prebuild at run time.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const HINT = 'To get the fast native backend: apt-get install libopenblas-dev && npm rebuild gatedrnn';

function log(message) {
  console.log(`gatedrnn: ${message}`);
}

function buildFromSourceAsked() {
  const v = process.env.npm_config_build_from_source;
  // prebuild-install's convention: true, or a list of package names.
  const npmFlag = v !== undefined && v !== '' && v !== 'false' && (v === 'true' || v.split(',').includes('gatedrnn'));
  return npmFlag || process.env.GATEDRNN_BUILD_FROM_SOURCE === '1';
}

/** Loads what node-gyp-build finds (build/Release, then prebuilds/): the file, or the reason it did not. */
function tryLoad() {
  let file = null;
  try {
    const ngb = require('node-gyp-build');
    file = ngb.resolve(root);
    require(file);
    return { file, error: null };
  } catch (e) {
    const first = String((e && e.message) || e).split('\n')[0];
    return { file: null, error: file ? `${path.relative(root, file)} did not load (${first})` : `no prebuilt binary for ${process.platform}-${process.arch}` };
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
  // -j max: compile the sources in parallel (a minute saved on small machines).
  const [cmd, args] = nodeGyp && fs.existsSync(nodeGyp) ? [process.execPath, [nodeGyp, 'rebuild', '-j', 'max']] : ['node-gyp', ['rebuild', '-j', 'max']];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

function main() {
  const fromSource = buildFromSourceAsked();
  let reason = '';
  if (fromSource) {
    log('building from source, as asked (--build-from-source).');
  } else {
    const r = tryLoad();
    if (r.file) {
      log(`native backend ready: ${path.relative(root, r.file)}`);
      return;
    }
    reason = `${r.error}; `;
  }
  // No native build from here: say what runs instead (a prebuild, when only
  // --build-from-source had set it aside) and how to get the fast path.
  const fallBack = (why, hint) => {
    const prebuilt = fromSource ? tryLoad() : { file: null };
    if (prebuilt.file) {
      log(`${why}: the prebuilt binary ${path.relative(root, prebuilt.file)} will be used.`);
      return;
    }
    log(`${why}: installed with the pure-TypeScript backend.`);
    log(hint);
  };
  if (!hasOpenBlas()) {
    fallBack(`${reason}no OpenBLAS found to build against`, HINT);
    return;
  }
  log(`${reason}building the native addon against OpenBLAS...`);
  if (buildFromSource()) {
    log('native backend built (build/Release/gatedrnn.node).');
    return;
  }
  fallBack('the native build failed (see above)', `${HINT} (a C++17 compiler and python3 are needed too)`);
}

main();
