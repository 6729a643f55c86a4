#!/usr/bin/env bash
# Peak RSS of `resid capture` as the captured token count grows: it must stay flat (streaming, bounded memory).
# Uses stories260K over the TinyStories sample repeated, from ../shared; every hook_resid_post, all positions.
#   bench/capture_rss.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"/cli/resid
S=../shared
[ -f "$S/models/stories260K/stories260K.bin" ] || { echo "needs ../shared/models/stories260K"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for copies in 2 5 10 20; do
  for _ in $(seq "$copies"); do cat "$S/data/tinystories/tinystories_sample.txt"; done > "$T/data.txt"
  "$B" capture "$S/models/stories260K/stories260K.bin" "$T/data.txt" --kind windows --max-tokens 256 \
       --hooks 'blocks.*.hook_resid_post' -o "$T/out.h5" --force 2>&1 | tail -n 1
  ls -l "$T/out.h5" | awk '{printf "  file %.0f MB\n", $5 / 1e6}'
done
