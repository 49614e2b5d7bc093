#!/usr/bin/env node
// Prints parts of native/build-config.json and of the OpenBLAS flags for
// binding.gyp, which can only take shell-command expansions (<!@(...)).
//   node scripts/build-config.cjs sources|cflags|defines|blas-include|blas-libs
// OpenBLAS is found through pkg-config (openblas, then blas); static linking
// of libopenblas.a when GATEDRNN_STATIC_OPENBLAS=1 (what prebuilds use).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const config = JSON.parse(fs.readFileSync(path.join(root, 'native', 'build-config.json'), 'utf8'));

function pkgConfig(args) {
  for (const name of ['openblas', 'blas-openblas']) {
    try {
      return execFileSync('pkg-config', [...args, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // try the next name
    }
  }
  return null;
}

function blasLibs() {
  const staticLink = process.env.GATEDRNN_STATIC_OPENBLAS === '1';
  const libDir = pkgConfig(['--variable=libdir']);
  if (staticLink) {
    const candidates = [libDir && path.join(libDir, 'libopenblas.a'), '/usr/lib/x86_64-linux-gnu/libopenblas.a', '/usr/lib/aarch64-linux-gnu/libopenblas.a'];
    const archive = candidates.find((p) => p && fs.existsSync(p));
    if (!archive) throw new Error('GATEDRNN_STATIC_OPENBLAS=1 but no libopenblas.a was found');
    return [archive, '-lpthread', '-lm'];
  }
  const libs = pkgConfig(['--libs']);
  return libs ? libs.split(/\s+/).filter(Boolean) : ['-lopenblas'];
}

function blasInclude() {
  const flags = pkgConfig(['--cflags-only-I']);
  return flags ? flags.split(/\s+/).filter(Boolean).map((f) => f.replace(/^-I/, '')) : [];
}

const what = process.argv[2];
const out = {
  sources: config.sources,
  cflags: config.cflags,
  defines: config.defines,
  'cxx-standard': [`-std=c++${config.cxxStandard}`],
  'blas-include': blasInclude(),
  'blas-libs': blasLibs(),
}[what];
if (!out) {
  console.error(`unknown item ${what}`);
  process.exit(2);
}
process.stdout.write(out.join(' '));
