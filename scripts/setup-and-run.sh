#!/usr/bin/env bash
# Command 1 of README.md: set everything up, build, and run resid's main job on its embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
./build/cli/resid demo "$@"
