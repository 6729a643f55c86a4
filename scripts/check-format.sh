#!/usr/bin/env bash
# scripts/check-format.sh [--fix]: every C++ file git tracks is formatted as .clang-format says (Debian's
# clang-format); lists the files that are not and exits 1. --fix formats them in place instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format "$f" | cmp -s - "$f" || bad+=("$f")
done
if [ "${#bad[@]}" -ne 0 ]; then
  echo "not formatted as .clang-format says (run scripts/check-format.sh --fix): ${bad[*]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files as .clang-format says"
