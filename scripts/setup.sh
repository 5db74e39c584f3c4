#!/usr/bin/env bash
# setup.sh - install what is missing (Debian 12, as root or with sudo), configure and build.
# Used by both README quick-start commands and by CI.
#   PLANNER_WERROR=ON   treat warnings as errors (CI sets it)
#   PLANNER_BUILD_GUI=OFF  skip the Qt GUI (default ON)
#   PLANNER_SKIP_APT=1  do not touch packages (they are installed already)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake git pkg-config
  libboost-json1.81-dev libboost-program-options1.81-dev   # Boost.JSON is not in Debian's default 1.74
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch libopenblas0-pthread  # cross-checks in tests; OpenBLAS for fair benchmarks
  python3-dev pybind11-dev python3-pytest                   # the Python module selfextend_planner and its tests
  python3-setuptools python3-wheel python3-build python3-venv python3-pip  # its offline wheel, tested in a venv
  qt6-base-dev xvfb xauth fonts-dejavu-core                 # the GUI, its offscreen tests and screenshots
  clang libclang-rt-14-dev                                  # fuzzers (libFuzzer) and sanitizer runtimes
)

if [[ "${PLANNER_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPLANNER_BUILD_TESTS=ON \
  -DPLANNER_WERROR="${PLANNER_WERROR:-OFF}" -DPLANNER_BUILD_GUI="${PLANNER_BUILD_GUI:-ON}" \
  -DPLANNER_BUILD_BENCHMARKS=ON -DPLANNER_BUILD_PYTHON=ON
cmake --build build -j"$(nproc)"
