#!/usr/bin/env bash
# Command 2 of README.md: set everything up, build, and run the whole test suite through ctest.
#  1. the full suite, built for this CPU (-march=native);
#  2. the full suite again, built for x86-64-v3 (AVX2 + FMA, no AVX-512), when this CPU has AVX-512: results must
#     hold on every x86-64 machine, not only on the one the tests were written on (docs/numerics.md);
#  3. the checkpoint loaders', tokenizers', forward's, capture's and probes' tests under AddressSanitizer + UBSan
#     (malformed files must never read out of bounds; a failed capture must never touch freed buffers).
#  4. every parser's libFuzzer harness (fuzz/) for RESID_FUZZ_SECONDS (30) each, from seeds resid's writers and
#     ../shared provide.
# RESID_SKIP_V3=1 skips step 2, RESID_SKIP_SANITIZE=1 step 3, RESID_SKIP_FUZZ=1 step 4. Every step runs even
# after a failure; the closing line sums them ("resid: N passed, M failed") and the exit code is non-zero if anything failed.
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

echo "== full test suite (-march=native)"
run_ctest build

if [ "${RESID_SKIP_V3:-0}" != "1" ]; then
  if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    echo "== full test suite built for x86-64-v3 (AVX2 + FMA, as on CPUs without AVX-512)"
    cmake -S . -B build-v3 -G Ninja -DCMAKE_BUILD_TYPE=Release -DRESID_MARCH=x86-64-v3 -DRESID_BUILD_BENCH=OFF >/dev/null
    if cmake --build build-v3 -j"$(nproc)"; then
      run_ctest build-v3
    else
      echo "FAILED: the x86-64-v3 build"
      failed=$((failed + 1))
    fi
  else
    echo "== x86-64-v3 suite skipped: this CPU has no AVX-512, so the native build above already is the AVX2 path"
  fi
fi

if [ "${RESID_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== loaders, tokenizers, forward, capture and probes under AddressSanitizer + UBSan"
  # The capture and probe tests start the `resid` binary of their own build, so it is sanitized too.
  ASAN_TESTS=(test_llama2c test_gguf test_safetensors test_hf_checkpoint test_tokenizers test_transformer
              test_activations test_activation_file test_capture_integrity test_capture_damaged_resume
              test_capture_cli test_capture_sigkill_resume test_probes test_probe_cli test_idx_file test_census
              test_census_cli test_input_files test_datasets test_probe_cv test_row_kernels)
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESID_SANITIZE=ON \
        -DRESID_BUILD_BENCH=OFF >/dev/null
  if ! cmake --build build-asan -j"$(nproc)" --target resid "${ASAN_TESTS[@]}"; then
    echo "FAILED: the sanitizer build"
    failed=$((failed + 1))
  fi
  # Two at a time (2 cores); each writes its own log, read back for the counts.
  printf '%s\n' "${ASAN_TESTS[@]}" | xargs -P 2 -I{} sh -c \
    'ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 OMP_WAIT_POLICY=PASSIVE \
       ./build-asan/tests/{} --gtest_brief=1 > build-asan/{}.log 2>&1; echo $? > build-asan/{}.status' || true
  for t in "${ASAN_TESTS[@]}"; do
    cat build-asan/"$t".log
    n=$(grep -E "^\[  PASSED  \] [0-9]+ test" build-asan/"$t".log | sed -E 's/.*\] ([0-9]+) test.*/\1/' || true)
    passed=$((passed + ${n:-0}))
    if [ "$(cat build-asan/"$t".status 2>/dev/null || echo 1)" != "0" ]; then
      echo "FAILED under sanitizers: $t"
      failed=$((failed + 1))
    fi
  done
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
