#!/usr/bin/env bash
# Builds the native unit tests and the addon with AddressSanitizer + UndefinedBehaviorSanitizer
# (one cmake-js build in build-asan/, so the kernels are compiled once), runs the CTest tests,
# then a representative part of the mocha suite and the worker-termination stress test against
# the addon. Node itself is not instrumented, so libasan is preloaded; V8's
# intentional process-lifetime allocations would drown real leaks, so leak detection is off
# (scripts/rss-check.js covers leaks).
set -euo pipefail
cd "$(dirname "$0")/.."

npx cmake-js compile --out build-asan --config RelWithDebInfo \
  --CDCONVKIT_SANITIZE=address,undefined --CDCONVKIT_WERROR=ON >build-asan.log 2>&1 ||
  { cat build-asan.log; exit 1; }
ctest --test-dir build-asan --output-on-failure
addon=$(find build-asan -name convkit.node | head -n 1)
[ -n "$addon" ] || { echo "sanitize-addon: no convkit.node under build-asan" >&2; exit 1; }

export CONVKIT_ADDON_PATH="$PWD/$addon"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# A smaller fuzz run: the point here is memory errors on odd inputs, not coverage of values.
export CONVKIT_FUZZ_RUNS="${CONVKIT_FUZZ_RUNS:-300}"
# The near-limit fuzz runs every case in a child process; the children inherit LD_PRELOAD and
# CONVKIT_ADDON_PATH, so they run the sanitized addon too, and an ASan report is a crash.
export CONVKIT_LIMITS_RUNS="${CONVKIT_LIMITS_RUNS:-10}"

echo "sanitize-addon: mocha on $CONVKIT_ADDON_PATH"
npx mocha --no-config --timeout 300000 --grep "missing native addon" --invert \
  test/reference.test.js test/errors.test.js test/threads.test.js test/gradcheck.test.js \
  test/reliability/fuzz.test.js test/reliability/concurrency.test.js test/reliability/numerics.test.js \
  test/reliability/large-inputs.test.js test/reliability/padding-inf.test.js \
  test/reliability/fuzz-limits.test.js test/reliability/buffer-lifetime.test.js \
  test/reliability/sync-while-async.test.js test/reliability/workspace-limit.test.js \
  test/reliability/size-limits.test.js
echo "sanitize-addon: worker_threads terminated mid-work"
node test/reliability/fixtures/worker-churn.js 4 4
