#!/usr/bin/env bash
# Command 2 of README.md: set everything up, build, and run the whole test suite through ctest.
#  1. the source is formatted as .clang-format says (scripts/check-format.sh);
#  2. the full suite, built for this CPU (-march=native, Release);
#  3. the full suite again, built for x86-64-v3 (AVX2 + FMA, no AVX-512; OpenBLAS on its AVX2 kernels) under
#     AddressSanitizer + UBSan: results
#     must hold on every x86-64 machine, not only on the one the tests were written on (docs/numerics.md), and
#     malformed files must never read out of bounds, nor a failed capture touch freed buffers. One build serves
#     both checks (build-check/: libraries at -O1, the tests' own code at -O0, to keep CI short);
#  4. every parser's libFuzzer harness (fuzz/) for RESID_FUZZ_SECONDS (30) each, two at a time, from seeds
#     resid's writers and ../shared provide.
# RESID_SKIP_FORMAT=1 skips step 1, RESID_SKIP_CHECK=1 step 3, RESID_SKIP_FUZZ=1 step 4. Every step runs even
# after a failure; the closing line sums them ("resid: N passed, M failed") and the exit code is non-zero if
# anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build

# Every step's pass/fail counts, summed into the closing line.
passed=0
failed=0
# run_ctest BUILD_DIR: the whole suite of one build; its counts are added to the totals.
run_ctest() {
  local log="$1/ctest-output.log" status=0
  (cd "$1" && ctest --output-on-failure -j2 --timeout 600) | tee "$log" || status=$?
  local line total bad
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1 || true)
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  passed=$((passed + ${total:-0} - ${bad:-0}))
  failed=$((failed + ${bad:-0}))
  # A ctest that failed without a count (a crash, a timeout before the summary) still counts as a failure.
  if [ "$status" -ne 0 ] && [ "${bad:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
}

if [ "${RESID_SKIP_FORMAT:-0}" != "1" ]; then
  echo "== source formatting (.clang-format)"
  if scripts/check-format.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

echo "== full test suite (-march=native)"
run_ctest build

if [ "${RESID_SKIP_CHECK:-0}" != "1" ]; then
  # x86-64-v3 where the CPU runs it (every AVX2 + FMA machine); on an older CPU the compiler's default target.
  march=""
  if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then march=x86-64-v3; fi
  echo "== full test suite built for ${march:-the default x86-64 target} under AddressSanitizer + UBSan"
  cmake -S . -B build-check -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
        -DRESID_TEST_OPTIMIZE=-O0 -DRESID_SANITIZE=ON -DRESID_MARCH="$march" -DRESID_BUILD_BENCH=OFF >/dev/null
  if cmake --build build-check -j"$(nproc)"; then
    # OpenBLAS picks its kernels from the running CPU, not from -march: have it use its AVX2 ones too.
    if [ -n "$march" ]; then export OPENBLAS_CORETYPE=Haswell; fi
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 run_ctest build-check
    unset OPENBLAS_CORETYPE
  else
    echo "FAILED: the sanitizer build"
    failed=$((failed + 1))
  fi
fi

if [ "${RESID_SKIP_FUZZ:-0}" != "1" ]; then
  echo "== every parser under libFuzzer (ASan + UBSan), ${RESID_FUZZ_SECONDS:-30} s each"
  if scripts/run-fuzzers.sh "${RESID_FUZZ_SECONDS:-30}"; then
    passed=$((passed + 1))
  else
    echo "FAILED: a fuzzer found a crash (input kept in build-fuzz/artifacts/)"
    failed=$((failed + 1))
  fi
fi

echo "resid: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
