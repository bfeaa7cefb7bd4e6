#!/usr/bin/env bash
# Builds the prebuilt addons shipped in the npm package: prebuilds/linux-x64 and
# prebuilds/linux-arm64, each an N-API binary (one per platform, any Node >= 20) tagged with its
# libc so node-gyp-build never picks it on musl. OpenSSL's libcrypto.a is linked statically into
# both; x86-64 also carries Intel's ipsec-mb (libipsec-mb-dev), which does not exist for arm64.
# arm64 is cross-compiled with Debian's toolchain (g++-aarch64-linux-gnu) against the arm64
# OpenSSL from multiarch (libssl-dev:arm64). Usage: bash scripts/prebuild.sh [x64] [arm64]
# Prints the floor of each binary: the newest GLIBC_x.y and GLIBCXX_x.y.z symbol versions it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x64 arm64)
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
command -v node-gyp >/dev/null || { echo "prebuild: run it as npm run prebuild (node-gyp comes from npm)" >&2; exit 1; }
prebuildify=(node node_modules/prebuildify/bin.js --napi --strip --tag-libc --target=node@20.0.0)

require_file() { # file, apt package that provides it
  [ -e "$1" ] || { echo "prebuild: $1 not found; install $2 (see .ci/run)" >&2; exit 1; }
}

glibc_floor() {
  echo "$(objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)" \
    "$(objdump -T "$1" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)"
}

# prebuildify compiles in build/; keep the checkout's own development build out of its way.
if [ -d build ]; then
  kept="$(mktemp -d build.kept-XXXXXX)"
  mv build "$kept/build"
  trap 'rm -rf build && mv "$kept/build" build && rmdir "$kept"' EXIT
else
  trap 'rm -rf build' EXIT
fi

for arch in "${targets[@]}"; do
  case "$arch" in
    x64)
      [ "$(uname -m)" = x86_64 ] || { echo "prebuild: x64 is built on an x86-64 host" >&2; exit 1; }
      require_file /usr/include/intel-ipsec-mb.h libipsec-mb-dev
      rm -rf prebuilds/linux-x64
      "${prebuildify[@]}" --arch x64
      ;;
    arm64)
      cross=aarch64-linux-gnu
      require_file "/usr/bin/$cross-g++" g++-aarch64-linux-gnu
      require_file "/usr/lib/$cross/libcrypto.a" libssl-dev:arm64
      rm -rf prebuilds/linux-arm64
      CC="$cross-gcc" CXX="$cross-g++" LINK="$cross-g++" AR="$cross-ar" \
        PREBUILD_STRIP_BIN="$cross-strip" npm_config_openssl_libdir="/usr/lib/$cross" \
        "${prebuildify[@]}" --arch arm64
      ;;
    *)
      echo "prebuild: unknown target $arch (x64 or arm64)" >&2
      exit 1
      ;;
  esac
  for binary in prebuilds/linux-"$arch"/*.node; do
    echo "prebuild: $binary ($(file -b "$binary" | cut -d, -f1-2)), needs $(glibc_floor "$binary")"
  done
done
