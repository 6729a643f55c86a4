#!/usr/bin/env bash
# resid against llama.cpp on the same machine, the same weights and the same thread count, in interleaved rounds.
# The model is a seeded stories110M-shape Llama (d_model 768, 12 layers, d_mlp 2048, vocabulary 32,000, F32),
# written as GGUF by resid's own writer (bench_prefill --write-gguf), so both programs read one file.
#
#   bench/llama_cpp_compare.sh RESID_BUILD LLAMA_BUILD [ROUNDS] [THREADS]      (defaults: 3 rounds, 2 threads)
#
# LLAMA_BUILD is a llama.cpp build directory holding bin/llama-bench (cmake --build B --target llama-bench);
# without one the script says so and exits 0. Per round:
#   prefill: llama-bench pp256 (one sequence of 256 tokens) | bench_prefill --shape 110M, batch 4 x 256,
#            last-position logits (both tokens/s)
#   decode:  llama-bench tg64 (64 tokens, KV cache)          | resid generate --steps 65 (BOS + 64 greedy tokens,
#            KV cache; tokens/s from its timing line, the BOS step included)
# Then the median of each and the ratios resid / llama.cpp, and the llama.cpp commit llama-bench reports. Run it on
# an idle machine: two programs timed while anything else runs measure the scheduler.
set -euo pipefail
resid_build=${1:?usage: bench/llama_cpp_compare.sh RESID_BUILD LLAMA_BUILD [ROUNDS] [THREADS]}
llama_build=${2:-}
rounds=${3:-3}
threads=${4:-2}
llama_bench="$llama_build/bin/llama-bench"
if [ -z "$llama_build" ] || [ ! -x "$llama_bench" ]; then
  echo "llama_cpp_compare: no llama-bench under '${llama_build}' (build llama.cpp's llama-bench target); skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model="$work/stories110M-shape.gguf"
"$resid_build/bench/bench_prefill" --shape 110M --write-gguf "$model" >/dev/null

prefill_resid() {  # tokens/s of the "110M last only" row
  "$resid_build/bench/bench_prefill" --shape 110M --threads "$threads" --repeats 3 |
    awk '$1 == "110M" && $2 == "last" { print $5 }'
}
# "generated 65 tokens in 1.483 s (43.8 tokens/s; 63.9 tokens/s after the prompt's forward)" on stderr: the
# KV-cached steps alone, as llama-bench's tg64 times them (its warm-up run pages the weights in; resid's prompt
# forward does that here).
decode_resid() {
  "$resid_build/cli/resid" generate "$model" --steps 65 --temperature 0 --threads "$threads" 2>&1 >/dev/null |
    sed -nE 's/.*; ([0-9.]+) tokens\/s after the prompt.*/\1/p'
}
llama() {  # llama-bench JSON for one test: avg tokens/s, and the commit it was built from
  "$llama_bench" -m "$model" -t "$threads" -r 3 "$@" -o json 2>/dev/null |
    /usr/bin/python3 -c 'import json, sys; r = json.load(sys.stdin)[0]; print(r["avg_ts"], r["build_commit"])'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "threads $threads, $rounds interleaved rounds; model: seeded stories110M shape, F32"
printf '%-6s %14s %14s %14s %14s\n' round "prefill resid" "pp256 llama" "decode resid" "tg64 llama"
pr=() pl=() dr=() dl=() commit=""
for ((i = 1; i <= rounds; i++)); do
  read -r lp commit < <(llama -p 256 -n 0)
  p=$(prefill_resid)
  read -r lt commit < <(llama -p 0 -n 64)
  d=$(decode_resid)
  pr+=("$p") pl+=("$lp") dr+=("$d") dl+=("$lt")
  printf '%-6s %14.1f %14.1f %14.1f %14.1f\n' "$i" "$p" "$lp" "$d" "$lt"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mpr=$(median "${pr[@]}") mpl=$(median "${pl[@]}") mdr=$(median "${dr[@]}") mdl=$(median "${dl[@]}")
printf '%-6s %14.1f %14.1f %14.1f %14.1f\n' median "$mpr" "$mpl" "$mdr" "$mdl"
awk -v a="$mpr" -v b="$mpl" -v c="$mdr" -v d="$mdl" \
  'BEGIN { printf "resid / llama.cpp: prefill %.2fx, decode %.2fx\n", a / b, c / d }'
echo "llama.cpp commit: $commit"
