#!/usr/bin/env node
// `npm run prebuild [-- --arch arm64 --strip-bin aarch64-linux-gnu-strip]`:
// the prebuilt binary for prebuilds/<platform>-<arch>/gatedrnn.node, made by
// prebuildify (N-API, stripped) through binding.gyp with OpenBLAS linked
// statically (GATEDRNN_STATIC_OPENBLAS=1: libopenblas.a, which on Debian is
// built with DYNAMIC_ARCH, so its kernels are still chosen on the user's CPU).
//
// node-gyp runs in a staging directory, build-prebuild/<platform>-<arch>/, so
// the developer's own build in build/ (the dynamic one; or x64 while
// cross-compiling arm64) is left alone. Afterwards the binary is checked: no
// dynamic dependency on OpenBLAS, BLAS/LAPACK or the Fortran runtime, and no
// undefined Fortran-runtime symbol.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const argValue = (name) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return null;
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
};
const arch = argValue('arch') || process.env.PREBUILD_ARCH || process.arch;
const platform = process.env.PREBUILD_PLATFORM || process.platform;
const tuple = `${platform}-${arch}`;

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

// The staging directory: binding.gyp and package.json copied, the sources and
// scripts linked (build-config.cjs prints paths relative to binding.gyp).
const stage = path.join(root, 'build-prebuild', tuple);
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(stage, f));
for (const d of ['native', 'scripts']) fs.symlinkSync(path.join(root, d), path.join(stage, d), 'dir');

// node-gyp: npm's own (npm puts it on PATH and in npm_config_node_gyp while
// it runs a script; found beside npm when this file is run directly). The
// headers: this Node's own when it has them (nodedir), so nothing is
// downloaded; prebuildify otherwise asks for the newest Node's.
const env = { ...process.env, GATEDRNN_STATIC_OPENBLAS: '1', JOBS: process.env.JOBS || 'max' };
if (!env.PREBUILD_NODE_GYP) {
  const besideNpm = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const nodeGyp = [env.npm_config_node_gyp, besideNpm].find((p) => p && fs.existsSync(p));
  if (nodeGyp) env.PREBUILD_NODE_GYP = nodeGyp;
}
const prefix = path.join(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = path.resolve(prefix);
const target = argValue('target') ? [] : [`--target=${process.versions.node}`];

const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', ...target, ...args, `--out=${root}`, stage], { cwd: stage, stdio: 'inherit', env });
if (r.status !== 0) fail(`prebuildify failed (status ${r.status})`);

const dir = path.join(root, 'prebuilds', tuple);
const file = path.join(dir, `${require(path.join(root, 'package.json')).name}.node`);
if (!fs.existsSync(file)) fail(`${file} was not produced`);

if (platform === 'linux') {
  // readelf reads any ELF, so this checks cross-compiled binaries too.
  const elf = spawnSync('readelf', ['-h', '-d', '--dyn-syms', '-W', file], { encoding: 'utf8' });
  if (elf.status !== 0) fail(`readelf failed: ${elf.stderr}`);
  const needed = [...elf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const machine = /Machine:\s+(.*)/.exec(elf.stdout)?.[1].trim();
  const bad = needed.filter((n) => /openblas|blas|lapack|gfortran|quadmath/.test(n));
  if (bad.length > 0) fail(`${file} still needs ${bad.join(', ')}`);
  const fortran = elf.stdout.split('\n').filter((l) => /\bUND\b/.test(l) && /_gfortran_/.test(l));
  if (fortran.length > 0) fail(`${file} has undefined Fortran-runtime symbols:\n${fortran.join('\n')}`);
  const versions = (prefix) =>
    [...new Set([...elf.stdout.matchAll(new RegExp(`@${prefix}_([0-9.]+)`, 'g'))].map((m) => m[1]))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const glibc = versions('GLIBC').pop() ?? 'none';
  if (versions('GLIBCXX').length > 0) fail(`${file} needs the system libstdc++ (GLIBCXX_${versions('GLIBCXX').pop()}); it should carry its own`);
  console.log(`prebuild: ${path.relative(root, file)} (${machine}, ${(fs.statSync(file).size / 1048576).toFixed(1)} MB), needs only ${needed.join(', ')}; glibc >= ${glibc}`);
} else {
  console.log(`prebuild: ${path.relative(root, file)}`);
}
