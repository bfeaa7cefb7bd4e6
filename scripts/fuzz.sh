#!/usr/bin/env bash
# Coverage-guided fuzzing of the loader (issue 7):
#   header  Jazzer.js on the pure format core (parseSafetensors + the reserved-entry parsers)
#   open    Jazzer.js on the whole openFile path, plain and encrypted, both backends
#   native  libFuzzer + ASan + UBSan on the C++ range-read and decrypt entry points
# Seeds: valid files written by saveFile with generated keys (test/fuzz/seeds.ts) and the inputs
# in fuzz/regressions/, which are replayed first. A crash, a run over 1 s, or RSS over the limit
# fails the script; the input is left in .cache/fuzz/findings/.
#
#   FUZZ_SECONDS=40 bash scripts/fuzz.sh     # CI's bounded pass: about 2.5 minutes in all
#   npm run fuzz                             # FUZZ_SECONDS=300 per target
set -euo pipefail
cd "$(dirname "$0")/.."
# npm's own node-gyp (the one `npm run build:native` uses); it is not a project dependency.
node_gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
seconds=${FUZZ_SECONDS:-300}
work=.cache/fuzz
build=.cache/fuzz-build
mkdir -p "$work/findings" "$work/corpus-header" "$work/corpus-open" "$work/corpus-native" "$work/compat"
summary="$work/summary.txt"
: >"$summary"

echo "== fuzz: compiling targets"
# Type errors are the typecheck step's business; the fuzzers need only the emitted JavaScript.
npx tsc -p test/fuzz/tsconfig.json >"$work/tsc.log" 2>&1 || echo "fuzz: tsc reported errors (see $work/tsc.log); fuzzing the emitted JavaScript"
[ -f "$build/test/fuzz/open-target.js" ] || { cat "$work/tsc.log" >&2; exit 1; }
# The compiled tree lives under .cache; this package.json lets the addon loader find the real build
# through CRYPTOTENSORS_PREBUILD (node-gyp-build reads the package name first).
echo '{"name":"cryptotensors","type":"module"}' >"$build/package.json"
export CRYPTOTENSORS_PREBUILD="$PWD"
[ -f build/Release/cryptotensors.node ] || node "$node_gyp" rebuild --nodedir=/usr >/dev/null

node "$build/test/fuzz/seeds.js" "$work/seeds" "$work/keys.json"
export CT_FUZZ_KEYS="$PWD/$work/keys.json"

# Jazzer.js's prebuilt libFuzzer addon wants glibc 2.38 / GCC 13's libstdc++; on older systems
# supply its three newer symbols (fuzz/compat/) instead of failing.
addon=node_modules/@jazzer.js/fuzzer/prebuilds/fuzzer-linux-x64.node
preload=""
# LD_BIND_NOW: resolve every symbol at load, so a missing one shows here and not mid-run.
if ! LD_BIND_NOW=1 node -e "require('./$addon')" 2>/dev/null; then
  cc -shared -fPIC -O2 -o "$work/compat/libjazzer-compat.so" fuzz/compat/glibc-compat.c
  preload="$PWD/$work/compat/libjazzer-compat.so"
  if ! LD_BIND_NOW=1 LD_PRELOAD="$preload" node -e "require('./$addon')" 2>/dev/null; then
    [ -f "$addon.orig" ] || cp "$addon" "$addon.orig"
    python3 fuzz/compat/patch-verneed.py "$addon.orig" "$addon" GLIBC_2.38 GLIBCXX_3.4.32
  fi
  LD_BIND_NOW=1 LD_PRELOAD="$preload" node -e "require('./$addon')"
fi

# Prints "execs cov" from a libFuzzer log (the last status line and the final stats).
stats() {
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$1" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE '(INITED|DONE|NEW|REDUCE|pulse) +cov: [0-9]+' "$1" | grep -oE '[0-9]+$' | tail -1)
  echo "${execs:-0} ${cov:-0}"
}

run_jazzer() {
  local name=$1 target=$2 sync=$3
  local log="$work/$name.log"
  echo "== fuzz: $name (${seconds}s)"
  # Regression inputs first, then fuzzing from the persistent corpus plus the seeds.
  local regressions=()
  [ -d "fuzz/regressions/$name" ] && regressions=("fuzz/regressions/$name")
  if ! LD_PRELOAD="$preload" npx jazzer "$build/test/fuzz/$target" "$work/corpus-$name" "$work/seeds" "${regressions[@]}" \
      $sync --timeout=1000 -- -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=1024 \
      -artifact_prefix="$work/findings/$name-" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $name found a failure; input saved under $work/findings/" >&2
    exit 1
  fi
  read -r execs cov < <(stats "$log")
  # Line coverage of the library reached by the corpus: a regression pass (no mutation) under
  # istanbul, src/ files only.
  LD_PRELOAD="$preload" npx jazzer "$build/test/fuzz/$target" "$work/corpus-$name" $sync --mode=regression \
    --coverage --coverageDirectory="$work/coverage-$name" --coverageReporters=json-summary \
    >"$work/$name-coverage.log" 2>&1 || true
  lines=$(node -e '
    const s = require(process.argv[1]); let covered = 0, total = 0;
    for (const [file, c] of Object.entries(s)) if (file.includes("/src/")) { covered += c.lines.covered; total += c.lines.total; }
    console.log(total ? (100 * covered / total).toFixed(1) + "% of " + total : "n/a");' "$PWD/$work/coverage-$name/coverage-summary.json" 2>/dev/null || echo n/a)
  echo "$name executions=$execs coverage_edges=$cov src_lines_covered=$lines" | tee -a "$summary"
}

run_jazzer header header-target.js --sync
run_jazzer open open-target.js ""

echo "== fuzz: native (${seconds}s)"
clangxx=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$clangxx" ]; then
  echo "fuzz: clang++ is required for the native harness (apt-get install clang libclang-rt-dev)" >&2
  exit 1
fi
# Everything in native/ without N-API: a source is the N-API layer when it or its own header
# includes napi.h (addon, file handle, workers, memory file, ...).
sources=$(for cc in native/*.cc; do
  grep -q 'napi\.h' "$cc" "${cc%.cc}.h" 2>/dev/null || echo "$cc"
done)
# shellcheck disable=SC2086
"$clangxx" -g -O1 -std=c++17 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Inative fuzz/native/native-fuzzer.cc $sources -lcrypto -lpthread -o "$work/native-fuzzer"
log="$work/native.log"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$work/native-fuzzer" fuzz/regressions/native/* >"$work/native-regressions.log" 2>&1 || {
  tail -40 "$work/native-regressions.log" >&2; echo "fuzz: a native regression input fails" >&2; exit 1; }
if ! "$work/native-fuzzer" "$work/corpus-native" fuzz/regressions/native -max_total_time="$seconds" -max_len=8192 \
    -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=512 -artifact_prefix="$work/findings/native-" -print_final_stats=1 >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "fuzz: native found a failure; input saved under $work/findings/" >&2
  exit 1
fi
read -r execs cov < <(stats "$log")
echo "native executions=$execs coverage_edges=$cov" | tee -a "$summary"
awk '{ split($2, e, "="); total += e[2] } END { print "fuzz: " total " executions in all, no finding" }' "$summary"
echo "(findings would be in $work/findings/; copy one into fuzz/regressions/<target>/ to replay it on every run)"
