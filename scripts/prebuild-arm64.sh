#!/usr/bin/env bash
# prebuilds/linux-arm64/gatedrnn.node, cross-compiled on a Debian x86-64 host,
# then smoke-tested under qemu-user: the golden RNN cases (every GRU and LSTM
# case, outputs and gradients) on the native backend of an arm64 Node.
#
#   bash scripts/prebuild-arm64.sh [--no-smoke]      (npm run prebuild:arm64)
#
# Idempotent: what is installed already is not installed again. Needs root
# (or sudo) the first time, for apt:
#   - dpkg --add-architecture arm64 (multiarch), apt-get update;
#   - g++-aarch64-linux-gnu, binutils-aarch64-linux-gnu (the cross toolchain);
#   - libopenblas-dev:arm64 (its libopenblas.a, pthread variant, DYNAMIC_ARCH:
#     ARMV8 / Cortex-A53..A72 / Neoverse N1, V1, N2 / ThunderX... kernels,
#     chosen at run time), linked statically into the addon;
#   - qemu-user (qemu-aarch64), to run arm64 code here.
# The arm64 Node for the smoke test is Debian's nodejs:arm64 (Node 18), with
# its libraries, fetched with `apt-get download` and unpacked into
# build-prebuild/arm64-root/ (not installed: it would replace the host's
# nodejs). qemu-aarch64 -L build-prebuild/arm64-root runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=1
[ "${1:-}" = "--no-smoke" ] && smoke=0

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# 1. Tools and the arm64 OpenBLAS.
updated=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "prebuild-arm64: dpkg --add-architecture arm64"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -q
  updated=1
fi
missing=()
for p in g++-aarch64-linux-gnu binutils-aarch64-linux-gnu libopenblas-dev:arm64 qemu-user; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "prebuild-arm64: apt-get install ${missing[*]}"
  [ $updated = 1 ] || $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. The cross build: node-gyp --arch=arm64 (prebuildify --arch arm64) with the
# aarch64 compiler; pkg-config reads the arm64 openblas.pc.
CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig \
  node scripts/prebuild.cjs --arch arm64 --strip-bin aarch64-linux-gnu-strip

[ $smoke = 1 ] || exit 0

# 3. An arm64 Node, unpacked (Debian's, from the archive apt already uses).
sysroot=build-prebuild/arm64-root
if [ ! -x "$sysroot/usr/bin/node" ]; then
  echo "prebuild-arm64: fetching Debian's nodejs:arm64 into $sysroot"
  debs=$(mktemp -d)
  pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends nodejs:arm64 |
    grep -E '^([^ <]+:arm64|node-[^ ]+)$' | grep -vE '^(dpkg|tar|install-info|openssl|gcc-[0-9]+-base):' | sort -u)
  # apt-get download writes into the current directory, as the _apt user when it can.
  (cd "$debs" && chmod 777 . && apt-get download $pkgs >/dev/null)
  mkdir -p "$sysroot.tmp"
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sysroot.tmp"; done
  rm -rf "$debs" "$sysroot"
  mv "$sysroot.tmp" "$sysroot"
fi

# 4. The golden cases, bundled into one script that takes the library from
# dist/index.cjs (as users get it) and the addon from where the loader finds
# it: prebuilds/linux-arm64 (the x64 build/Release, if any, fails to load
# under arm64 and is skipped).
[ -f dist/index.cjs ] || npm run build:ts
node -e "
const path = require('path');
const root = process.cwd();
require(require.resolve('esbuild', { paths: [root] })).build({
  entryPoints: [path.join(root, 'test/prebuildGolden.ts')],
  bundle: true, platform: 'node', format: 'cjs', target: 'node18',
  outfile: path.join(root, 'build-prebuild/golden.cjs'),
  define: { __dirname: JSON.stringify(path.join(root, 'test/helpers')) },
  plugins: [{ name: 'dist', setup(b) { b.onResolve({ filter: /\/lib\/index\.js$/ }, () => ({ path: path.join(root, 'dist/index.cjs'), external: true })); } }],
  logLevel: 'warning',
}).catch(() => process.exit(1));
"
echo "prebuild-arm64: golden cases on the native backend under qemu-aarch64"
status=0
report=$(env -u GATEDRNN_ADDON -u GATEDRNN_BACKEND qemu-aarch64 -L "$sysroot" "$sysroot/usr/bin/node" build-prebuild/golden.cjs native) || status=$?
echo "$report"
# Kept beside the build trees (not shipped) for test/prebuild.test.ts, with
# the hash of the binary it was run on.
sha=$(sha256sum prebuilds/linux-arm64/gatedrnn.node | cut -d' ' -f1)
node -e 'const r = JSON.parse(process.argv[1]); r.sha256 = process.argv[2]; r.status = Number(process.argv[3]); console.log(JSON.stringify(r));' \
  "${report:-{\}}" "$sha" "$status" > build-prebuild/arm64-smoke.json
exit $status
