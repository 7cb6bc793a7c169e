"""Start-up of the ``psymodal`` command: ``psymodal --help`` against a bare ``python -c pass``.

Every workflow job is one ``python -m psymodal.cli`` process, so its start-up is a per-job
overhead. Runs the two commands alternately (``--repeats``) and prints the medians, the
difference (psymodal's own import cost) and the ratio. Target: ``psymodal --help`` < 0.5 s.

It then states the per-job overhead of each kind of workflow job: the wall time of a process
that imports only what that job's sub-command imports before its first subject (the modules
listed in :data:`JOB_IMPORTS`, as in ``psymodal.cli``), minus ``python -c pass``.

Usage::

    python benchmarks/startup_speed.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "psymodal --help": [sys.executable, "-m", "psymodal.cli", "--help"],
    "python -c pass": [sys.executable, "-c", "pass"],
}
#: What each kind of job imports before it starts work (``psymodal.cli``'s handlers).
JOB_IMPORTS = {
    "record-config / manifest planning": "psymodal.workflow.plan, psymodal.demo",
    "collect (group tables)": "psymodal.io.tables",
    "mri, ready ROI time series": "psymodal.mri.sources, psymodal.mri.ready_timeseries",
    "mri, fMRIPrep BOLD": "psymodal.mri.sources, psymodal.mri.timeseries, psymodal.mri.figures",
    "speech": "psymodal.speech.pipeline",
    "language": "psymodal.language.pipeline",
    "learn": "psymodal.learn.pipeline",
    "report figures": "psymodal.report.figures",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(v) for name, v in times.items()}
    jobs = {name: [] for name in JOB_IMPORTS}
    for _ in range(args.repeats):
        for name, modules in JOB_IMPORTS.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {modules}"], check=True)
            jobs[name].append(time.perf_counter() - start)
    bare = med["python -c pass"]
    print(
        json.dumps(
            {
                "median_s": med,
                "psymodal_import_s": med["psymodal --help"] - med["python -c pass"],
                "ratio": med["psymodal --help"] / med["python -c pass"],
                "per_job_import_s": {n: statistics.median(v) - bare for n, v in jobs.items()},
                "load_average": os.getloadavg(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
