#!/usr/bin/env bash
# scripts/run-fuzzers.sh [SECONDS_PER_HARNESS [HARNESS...]]: builds resid's libFuzzer harnesses (fuzz/) with clang and
# ASan + UBSan in build-fuzz/, writes seed corpora (resid's own writers, plus the real files of ../shared when
# present), then runs each harness (or those named) on one core each, as many at once as there are cores
# (RESID_FUZZ_JOBS), for SECONDS_PER_HARNESS (default 30). Prints the
# executions per harness and in total; exits non-zero if any harness found a crash, leak, timeout or OOM (the
# input is kept in build-fuzz/artifacts/). RESID_FUZZ_BUILD overrides the build directory.
set -euo pipefail
seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RESID_FUZZ_BUILD:-$root/build-fuzz}
shared=$root/../shared
harnesses=(gguf llama2c safetensors hf_config tokenizer_bin npy jsonl tagged tokens text capture_resume)
if [ "$#" -gt 1 ]; then harnesses=("${@:2}"); fi

# Longest input tried: model files need room for a header, metadata and a tiny model; dataset lines do not.
max_len() {
  case "$1" in
    gguf|llama2c|safetensors|tokenizer_bin) echo 16384 ;;
    capture_resume) echo 65536 ;;
    *) echo 4096 ;;
  esac
}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DRESID_MARCH="" \
      -DRESID_FUZZ=ON -DRESID_BUILD_TESTS=OFF -DRESID_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"${RESID_FUZZ_BUILD_JOBS:-2}" --target resid_fuzzers

# Seeds are regenerated each run (never committed); the corpus each harness grows is kept between runs.
seeds=$build/seeds
rm -rf "$seeds"
ASAN_OPTIONS=detect_leaks=0 "$build/fuzz/fuzz_seeds" "$seeds" >/dev/null
if [ -d "$shared" ]; then
  # Model files are cut to their first 64 KiB: headers, metadata and vocabularies are what the parsers read.
  head -c 65536 "$shared/models/stories260K/stories260K.gguf" > "$seeds/gguf/stories260K-head.gguf"
  head -c 65536 "$shared/models/llama2-tokenizer/ggml-vocab-llama-spm.gguf" > "$seeds/gguf/llama-vocab-head.gguf"
  head -c 65536 "$shared/models/stories260K/stories260K.bin" > "$seeds/llama2c/stories260K-head.bin"
  head -c 65536 "$shared/models/mnist-mlp/mnist_mlp.safetensors" > "$seeds/safetensors/mnist-head.safetensors"
  cp "$shared/models/stories260K/tok512.bin" "$seeds/tokenizer_bin/tok512.bin"
  head -c 65536 "$shared/models/llama2-tokenizer/tokenizer.bin" > "$seeds/tokenizer_bin/llama2-head.bin"
  head -c 4096 "$shared/data/tinystories/tinystories_sample.txt" > "$seeds/text/tinystories-head.txt"
  head -c 2000 "$shared/data/tinystories/tinystories_sample.txt" | tr -s '\n' | sed 's/\\/\\\\/g; s/"/\\"/g' |
    awk '{print "{\"text\": \"" $0 "\", \"y\": " NR % 3 ", \"label\": \"c" NR % 2 "\"}"}' > "$seeds/jsonl/tinystories.jsonl"
  head -c 2000 "$shared/data/tinystories/tinystories_sample.txt" | tr -s '\n' |
    awk '{for (i = 1; i <= NF; i++) printf "%s/T%d ", $i, length($i) % 4; print ""}' > "$seeds/tagged/tinystories.tags"
  tr ' \n' '\n\n' < "$shared/models/stories260K/reference/once_upon_a_time.tokens.txt" | paste -sd' ' \
    > "$seeds/tokens/once_upon_a_time.tokens"
fi

# run_harness NAME: one harness for $seconds on one core (libFuzzer's -jobs=1 default); its executions and exit
# status go to artifacts/NAME.result. -timeout catches hangs, -rss_limit_mb and -malloc_limit_mb unbounded allocations.
run_harness() {
  local h=$1 corpus=$build/corpus/$1 log=$build/artifacts/$1.log status=0 runs
  mkdir -p "$corpus"
  # Leaks are checked everywhere but in capture_resume: there HDF5 itself (not built with the sanitizers, so
  # its frames cannot be unwound) loses a few KB on some damaged files; resid's own HDF5 handles are RAII
  # (capture/detail/h5_handles.h) and closed on every path.
  local leaks=1
  if [ "$h" = capture_resume ]; then leaks=0; fi
  ASAN_OPTIONS=detect_leaks=$leaks UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -max_len="$(max_len "$h")" -print_final_stats=1 -artifact_prefix="$build/artifacts/$h-" "$corpus" "$seeds/$h" \
    >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  echo "${runs:-0} $status" > "$build/artifacts/$h.result"
}

# As many harnesses at once as there are cores (RESID_FUZZ_JOBS overrides): each is single-threaded.
jobs=${RESID_FUZZ_JOBS:-$(nproc)}
mkdir -p "$build/artifacts"
rm -f "$build"/artifacts/*.result
running=0
for h in "${harnesses[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_harness "$h" &
  running=$((running + 1))
done
wait || true

total=0
failed=()
for h in "${harnesses[@]}"; do
  read -r runs status < "$build/artifacts/$h.result" || { runs=0; status=1; }
  total=$((total + runs))
  if [ "$status" -ne 0 ]; then
    failed+=("$h")
    printf '%-14s %12s executions  FAILED (status %d, log %s)\n' "$h" "$runs" "$status" "$build/artifacts/$h.log"
    grep -m3 -E 'ERROR|fuzz:|runtime error' "$build/artifacts/$h.log" || true
  else
    printf '%-14s %12s executions  ok\n' "$h" "$runs"
  fi
done
printf '%-14s %12s executions\n' total "$total"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
