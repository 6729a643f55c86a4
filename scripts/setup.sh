#!/usr/bin/env bash
# Installs what resid needs from Debian's packages (only what is missing) and builds it in Release.
# Usage: scripts/setup.sh [build-dir]     (sourced by the two top-level commands in README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"

PACKAGES=(build-essential cmake ninja-build pkg-config
          libeigen3-dev libhdf5-dev libboost-program-options-dev libgtest-dev libgmock-dev
          libsentencepiece-dev libopenblas-openmp-dev nlohmann-json3-dev zlib1g-dev python3-h5py python3-numpy python3-sklearn
          clang libclang-rt-14-dev libomp-14-dev clang-format chromium)
# Node.js and npm install resid report's charting library (reports/web); a Node that is already there (e.g.
# NodeSource's, which bundles npm and conflicts with Debian's npm package) is kept.
command -v npm >/dev/null || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Once, and again whenever the lockfile changes: the registry is not needed on later runs.
if [ ! -d reports/web/node_modules ] || [ reports/web/package-lock.json -nt reports/web/node_modules ]; then
  (cd reports/web && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
