#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang under ASan + UBSan (CMake option
# CONVKIT_FUZZ, in build-fuzz/) and runs each for CONVKIT_FUZZ_SECONDS (default 60) over its
# corpus in fuzz/corpus/<target>/. A finding (crash, sanitizer report, timeout, ==FINDING==)
# fails the script; its input is left in build-fuzz/artifacts/. Inputs the run finds
# interesting go to build-fuzz/corpus-new/<target>/, not into the repository: the kept corpus
# stays small and hand-picked (fuzz/README.md says how to merge).
# Needs clang and libFuzzer; on Debian 12: apt-get install --no-install-recommends clang libclang-rt-14-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${CONVKIT_FUZZ_SECONDS:-60}"
# -O0 builds the kernels in about a minute on two cores where -O1 takes five; it runs about
# half as many inputs per second. CONVKIT_FUZZ_OPT=-O1 for long local runs.
opt="${CONVKIT_FUZZ_OPT:--O0}"
command -v clang++ >/dev/null ||
  { echo "fuzz-native: clang++ not found (Debian: apt-get install --no-install-recommends clang libclang-rt-14-dev)" >&2; exit 1; }

CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=$opt -g" -DCONVKIT_FUZZ=ON \
  -DCONVKIT_BUILD_ADDON=OFF -DCONVKIT_BUILD_TESTS=OFF >build-fuzz.log 2>&1 &&
  cmake --build build-fuzz -j 2 >>build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
for target in native_shapes; do
  mkdir -p "build-fuzz/corpus-new/$target" build-fuzz/artifacts
  echo "fuzz-native: $target for ${seconds}s over fuzz/corpus/$target"
  # -timeout: one input running for half a minute is a finding (a loop over a padded 2^31 plane);
  # the slowest legitimate inputs take a few seconds at -O0 under the sanitizers.
  "build-fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=512 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target-" \
    "build-fuzz/corpus-new/$target" "fuzz/corpus/$target" 2>"build-fuzz/$target.log" ||
    { grep -m 1 -A 30 -E '==FINDING==|runtime error|ERROR: (AddressSanitizer|libFuzzer)' "build-fuzz/$target.log"
      tail -n 4 "build-fuzz/$target.log"
      echo "fuzz-native: $target found a problem; reproduce: build-fuzz/fuzz/fuzz_$target build-fuzz/artifacts/$target-*" >&2
      exit 1; }
  grep -E '^stat::(number_of_executed_units|new_units_added)' "build-fuzz/$target.log" | sed 's/^/fuzz-native: /'
done
