#!/usr/bin/env node
// Prints parts of native/build-config.json and of the OpenBLAS flags for
// binding.gyp, which can only take shell-command expansions (<!@(...)).
//   node scripts/build-config.cjs sources|cflags|defines|blas-include|blas-libs|ldflags
// OpenBLAS is found through pkg-config (openblas, then blas); static linking
// of libopenblas.a when GATEDRNN_STATIC_OPENBLAS=1 (what prebuilds use).
// Cross-compiling (prebuildify --arch arm64 sets PREBUILD_ARCH): pkg-config is
// used only when PKG_CONFIG_LIBDIR points at the target's .pc files, else the
// Debian multiarch paths of the target are used.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const config = JSON.parse(fs.readFileSync(path.join(root, 'native', 'build-config.json'), 'utf8'));

const TRIPLET = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const targetArch = process.env.PREBUILD_ARCH || process.env.npm_config_arch || process.arch;
const cross = targetArch !== process.arch;
const triplet = TRIPLET[targetArch] || `${targetArch}-linux-gnu`;

function pkgConfig(args) {
  if (cross && !process.env.PKG_CONFIG_LIBDIR) return null;
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
    // Debian's pthread variant first (DYNAMIC_ARCH: kernels chosen at run time).
    const candidates = [
      libDir && path.join(libDir, 'libopenblas.a'),
      `/usr/lib/${triplet}/openblas-pthread/libopenblas.a`,
      `/usr/lib/${triplet}/libopenblas.a`,
    ];
    const archive = candidates.find((p) => p && fs.existsSync(p));
    if (!archive) throw new Error(`GATEDRNN_STATIC_OPENBLAS=1 but no libopenblas.a for ${targetArch} was found`);
    // --exclude-libs keeps the archive's symbols out of the addon's dynamic
    // symbol table: our calls bind to our copy of OpenBLAS, and another
    // OpenBLAS loaded in the same process cannot interpose on it.
    const hide = process.platform === 'linux' ? ['-Wl,--exclude-libs,ALL'] : [];
    return [archive, ...hide, '-lpthread', '-lm'];
  }
  const libs = pkgConfig(['--libs']);
  return libs ? libs.split(/\s+/).filter(Boolean) : ['-lopenblas'];
}

function blasInclude() {
  const flags = pkgConfig(['--cflags-only-I']);
  if (flags) return flags.split(/\s+/).filter(Boolean).map((f) => f.replace(/^-I/, ''));
  const multiarch = `/usr/include/${triplet}/openblas-pthread`;
  return fs.existsSync(multiarch) ? [multiarch] : [];
}

// Prebuilds (static OpenBLAS) also carry their own libstdc++, so that they
// load where the system's libstdc++ is older than the build machine's
// (GLIBCXX_3.4.30 is GCC 12's; RHEL 9 and Amazon Linux 2023 ship GCC 11's);
// its symbols stay hidden (--exclude-libs,ALL above). --gc-sections drops the
// parts of libstdc++.a we never call, among them std::random_device and its
// arc4random@GLIBC_2.36, so the binary needs glibc 2.34 (pthread in libc),
// not the build machine's 2.36. libgcc_s stays dynamic (GCC_4.2 at most).
//
// Every Linux build is linked -z nodelete: Node dlcloses an addon when the
// last environment that loaded it ends, which happens when worker_threads
// load gatedrnn and the main thread does not. Unloaded, the addon would lose
// (and leak) its process-wide state each time: the cache of freed buffers,
// OpenBLAS's buffers and threads. Kept loaded, the next worker reuses them.
function ldflags() {
  if (process.platform !== 'linux') return [];
  const staticExtras = process.env.GATEDRNN_STATIC_OPENBLAS === '1' ? ['-static-libstdc++', '-Wl,--gc-sections'] : [];
  return ['-Wl,-z,nodelete', ...staticExtras];
}

const what = process.argv[2];
const out = {
  sources: config.sources,
  cflags: config.cflags,
  defines: config.defines,
  'cxx-standard': [`-std=c++${config.cxxStandard}`],
  'blas-include': blasInclude(),
  'blas-libs': blasLibs(),
  ldflags: ldflags(),
}[what];
if (!out) {
  console.error(`unknown item ${what}`);
  process.exit(2);
}
process.stdout.write(out.join(' '));
