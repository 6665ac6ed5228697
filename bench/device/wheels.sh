#!/usr/bin/env bash
# Build .whl/ (git-ignored) here: the pure-Python wheels the device run carries (bench/device/plan.py
# WHEELS). fvcore and iopath are published as source only, so pip builds their wheels here.
# Usage: bash bench/device/wheels.sh [PYTHON]   (default python3; needs PyPI)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-python3}
rm -rf .whl && mkdir .whl
# shellcheck disable=SC2046  # one argument per wheel
"$PY" -m pip wheel -q --no-deps -w .whl $("$PY" -m bench.device.plan --wheels)
for wheel in .whl/*.whl; do
  case "$wheel" in
    *-none-any.whl) ;;
    *) echo "wheels.sh: $wheel is not pure Python; the device machine is x86-64 Python 3.12" >&2; exit 1 ;;
  esac
done
ls -1 .whl
du -sh .whl
