#!/usr/bin/env bash
# The main job on the bundled sample portfolio, from a fresh machine (Python 3.11 and pip).
# Today: validate the portfolio, then write and summarise its ledger at two dates.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
mkdir -p out
.venv/bin/overdue-risk validate data/sample
.venv/bin/overdue-risk ledger data/sample --as-of 2024-06-30,2024-12-31 --out out/ledger.parquet
