"""Start-up of the ``psymodal`` command: ``psymodal --help`` against a bare ``python -c pass``.

Every workflow job is one ``python -m psymodal.cli`` process, so its start-up is a per-job
overhead. Runs the two commands alternately (``--repeats``) and prints the medians, the
difference (psymodal's own import cost) and the ratio. Target: ``psymodal --help`` < 0.5 s.

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
    print(
        json.dumps(
            {
                "median_s": med,
                "psymodal_import_s": med["psymodal --help"] - med["python -c pass"],
                "ratio": med["psymodal --help"] / med["python -c pass"],
                "load_average": os.getloadavg(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
