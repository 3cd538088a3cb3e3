#!/usr/bin/env bash
# Runs the native unit tests under valgrind memcheck on the AVX2 and generic kernels (valgrind
# cannot execute AVX-512; its CPUID hides it, so the tests only reach the ISAs it supports).
# CONVKIT_TEST_CASES trims the random cases: memcheck is ~50x slower than native.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq valgrind) >/dev/null
  else
    echo "valgrind-native: valgrind is not installed" >&2
    exit 1
  fi
fi

# The same configuration as .ci/run's CTest build, so that CI reuses it.
cmake -S . -B build-cmake -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_ADDON=OFF -DCONVKIT_WERROR=ON >/dev/null
cmake --build build-cmake -j 2 >/dev/null
export CONVKIT_TEST_CASES="${CONVKIT_TEST_CASES:-12}"
for test in test_conv test_conv_padding test_plans test_pool test_pad test_gemm test_runtime test_limits; do
  echo "valgrind-native: $test ($CONVKIT_TEST_CASES cases per list)"
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --quiet "build-cmake/$test" | tail -n 3
done
