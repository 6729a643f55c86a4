#!/usr/bin/env bash
# Command 2 of README.md: set everything up, build, and run the whole test suite through ctest.
# First the checkpoint loaders' and tokenizers' tests run under AddressSanitizer + UBSan (malformed files must
# never read out of bounds); RESID_SKIP_SANITIZE=1 skips that part.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build

if [ "${RESID_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== loader and tokenizer tests under AddressSanitizer + UBSan"
  ASAN_TESTS=(test_llama2c test_gguf test_safetensors test_hf_checkpoint test_tokenizers test_transformer)
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESID_SANITIZE=ON \
        -DRESID_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$(nproc)" --target "${ASAN_TESTS[@]}"
  for t in "${ASAN_TESTS[@]}"; do
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 ./build-asan/tests/"$t" --gtest_brief=1
  done
fi

echo "== full test suite"
cd build
ctest --output-on-failure -j2 --timeout 600
