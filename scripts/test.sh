#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Python 3.11 and pip are all it needs.
# 1. newest releases: ruff, import-linter's layering contracts, then pytest (doctests included);
# 2. the minimum supported releases (pandas 2.2, scikit-learn 1.6, lightgbm 4.3, pyspark 3.5):
#    pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Hypothesis draws the same examples on every CI run (tests/conftest.py).
export CI=${CI:-1}

setup() {  # setup VENV [pip args...]
  local venv=$1; shift
  [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # The spark extra too: the Spark engine's tests run in both environments (Java is on
  # the machine; without it they are skipped, with the reason).
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev,spark]" "$@"
}

run_pytest() {  # run_pytest VENV: pytest's exit 5 (no tests collected) is a failure here too
  local venv=$1 rc=0
  "$venv/bin/python" -m pytest "${@:2}" || rc=$?
  if [ "$rc" -eq 5 ]; then echo "pytest collected no tests" >&2; return 1; fi
  return "$rc"
}

echo "== newest releases"
setup .venv --upgrade --upgrade-strategy eager
# The oldest releases install while the newest are tested: pyspark 3.5.0 is a source
# archive that pip builds, minutes of one core that the tests would otherwise wait for.
min_log=$(mktemp)
setup .venv-min -c ci/constraints-min.txt >"$min_log" 2>&1 &
min_setup=$!
trap 'kill "$min_setup" 2>/dev/null || true; rm -f "$min_log"' EXIT
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/lint-imports  # the layering contracts in pyproject.toml
run_pytest .venv src tests --doctest-modules -q

echo "== minimum supported releases"
min_rc=0
wait "$min_setup" || min_rc=$?
cat "$min_log"
if [ "$min_rc" -ne 0 ]; then echo "setting up .venv-min failed ($min_rc)" >&2; exit 1; fi
run_pytest .venv-min src tests --doctest-modules -q -p no:cacheprovider
