#!/usr/bin/env bash
# Sanitizer job (issue 7):
#  1. builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into .cache/sanitize
#     (never the main build/) and runs the native, adversarial and concurrency suites against it,
#     with GCC's libasan preloaded into node (node itself is not instrumented: detect_leaks=0);
#  2. runs a short load/decrypt scenario (test/fuzz/valgrind-scenario.ts) under valgrind
#     memcheck with the normal build: any error with a frame in our addon, or a definite leak
#     allocated by it, fails the job; V8/Node's own reports are listed only as a count.
#
#   bash scripts/sanitize.sh            # both parts, about 3 minutes
#   SANITIZE_PARTS=asan bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# npm's own node-gyp (the one `npm run build:native` uses); it is not a project dependency.
node_gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
parts=${SANITIZE_PARTS:-asan,valgrind}
out=.cache/sanitize
mkdir -p "$out"
export npm_config_nodedir=${npm_config_nodedir:-/usr}

if [[ $parts == *asan* ]]; then
  echo "== sanitize: building the addon with ASan + UBSan in $out"
  # node-gyp builds into <cwd>/build; binding.gyp and native/ are linked, not copied, so the
  # sources compiled are exactly the tree's.
  ln -sfn ../../binding.gyp "$out/binding.gyp"
  ln -sfn ../../native "$out/native"
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
  (cd "$out" && CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    node "$node_gyp" rebuild --nodedir="$npm_config_nodedir" >build.log 2>&1) || { tail -30 "$out/build.log" >&2; exit 1; }
  addon="$PWD/$out/build/Release/cryptotensors.node"
  # (grep -c reads all of nm's output: grep -q would close the pipe early and fail under pipefail.)
  [ "$(nm -D --undefined-only "$addon" | grep -c __asan_init)" -gt 0 ] || { echo "sanitize: $addon is not instrumented" >&2; exit 1; }

  libasan=$(g++ -print-file-name=libasan.so)
  [ -f "$libasan" ] || { echo "sanitize: libasan.so not found (install g++)" >&2; exit 1; }
  export CRYPTOTENSORS_PREBUILD="$PWD/$out"
  # Node allocates outside ASan's view and leaks by design at exit: leak checking is for the
  # libFuzzer harness. Everything else aborts the process, which fails the test run.
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:handle_segv=1:handle_sigbus=0:allow_user_segv_handler=1:detect_odr_violation=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # Prove the instrumented addon is the one loaded.
  LD_PRELOAD="$libasan" node -e '
    const { createRequire } = require("node:module");
    const binding = require("node-gyp-build")(process.cwd());
    const maps = require("node:fs").readFileSync("/proc/self/maps", "utf8");
    if (!maps.includes(process.env.CRYPTOTENSORS_PREBUILD + "/build/Release/cryptotensors.node")) {
      console.error("sanitize: the ASan build was not the one loaded"); process.exit(1);
    }
    console.log("sanitize: loaded", binding.nativeInfo().openssl);'
  echo "== sanitize: native, adversarial and concurrency suites under ASan + UBSan"
  LD_PRELOAD="$libasan" npx vitest run test/native test/adversarial test/concurrency 2>&1 | tee "$out/asan-tests.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "sanitize: tests failed under ASan/UBSan" >&2; exit 1; }
  if grep -qE "ERROR: AddressSanitizer|runtime error:" "$out/asan-tests.log"; then
    echo "sanitize: sanitizer report in the test output" >&2; exit 1
  fi
  unset CRYPTOTENSORS_PREBUILD
fi

if [[ $parts == *valgrind* ]]; then
  echo "== sanitize: valgrind memcheck of a load/decrypt scenario"
  command -v valgrind >/dev/null || { echo "sanitize: valgrind is required (apt-get install valgrind)" >&2; exit 1; }
  [ -f build/Release/cryptotensors.node ] || node "$node_gyp" rebuild --nodedir="$npm_config_nodedir" >/dev/null
  npx tsc -p test/fuzz/tsconfig.json >"$out/tsc.log" 2>&1 || true
  build=.cache/fuzz-build
  [ -f "$build/test/fuzz/valgrind-scenario.js" ] || { cat "$out/tsc.log" >&2; exit 1; }
  echo '{"name":"cryptotensors","type":"module"}' >"$build/package.json"
  xml="$out/valgrind.xml"
  # --jitless: no generated code, so memcheck sees only real reads and writes (and runs faster).
  CRYPTOTENSORS_PREBUILD="$PWD" valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --track-origins=no --num-callers=30 --suppressions=fuzz/valgrind/node.supp \
    --xml=yes --xml-file="$xml" node --jitless "$build/test/fuzz/valgrind-scenario.js"
  python3 fuzz/valgrind/triage.py "$xml" cryptotensors.node
fi
echo "== sanitize: clean"
