#!/usr/bin/env bash
# The main job on the bundled sample portfolio, from a fresh machine (Python 3.11 and pip):
# train the early-warning and collection models on data/sample, run the nightly job for
# its last date, and write runs/demo/ (report, worklist, scores, manifest).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/overdue-risk demo --portfolio data/sample --out runs/demo
