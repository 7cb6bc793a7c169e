#!/usr/bin/env bash
# Run a command (default: tests/test_slurm.py alone) with a single-node SLURM up (Debian
# slurm-wlm via apt, as root), the executor plugin installed and PSYMODAL_SLURM_TEST=1, so that
# tests/test_slurm.py fails instead of skipping when SLURM does not answer.
#   bash .ci/slurm/with_slurm.sh make test   # CI: the suite, the SLURM run sharing its small demo
# The daemons this script starts are stopped by pid on exit; a SLURM that already answers is
# used as it is and left running.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=.ci/slurm
VENV=${VENV:-.venv}
export SLURM_CI_DIR=${SLURM_CI_DIR:-/tmp/slurm-ci}
# the test's jobs mostly start Python: let 4 of them overlap even on a 2-core machine
export SLURM_CI_CPUS=${SLURM_CI_CPUS:-4}
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$PWD/.numba_cache}
export MPLBACKEND=Agg
t0=$(date +%s)
if sinfo -h >/dev/null 2>&1; then
  echo "SLURM already running: using it"
else
  # cancel what the tests may have left queued, then stop the daemons by their pids
  trap 'scancel -u "$(id -un)" 2>/dev/null || true; sleep 1; bash "$HERE/stop_slurm.sh"' EXIT
  bash "$HERE/start_slurm.sh"
fi
[ -x "$VENV/bin/python" ] || make install VENV="$VENV"
# the pin of pyproject.toml's `cluster` extra
"$VENV/bin/python" -m pip install --quiet "snakemake-executor-plugin-slurm==2.8.0"
t1=$(date +%s)
if [ $# -eq 0 ]; then
  set -- "$VENV/bin/python" -m pytest -q -ra -p no:cacheprovider tests/test_slurm.py
fi
PSYMODAL_SLURM_TEST=1 "$@"
t2=$(date +%s)
echo "with SLURM: set-up $((t1 - t0)) s, command $((t2 - t1)) s"
