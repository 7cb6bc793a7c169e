"""Speed of psymodal's MRI stage on ready ROI time series against a plain nilearn script.

The study has the shape of ABIDE Preprocessed (C-PAC, Harvard-Oxford): ``--subjects`` (default
871) subjects, 111 regions, 78-316 volumes, one ``.1D`` file each, generated once into
``--workdir``. Two sides read the same files, alternating:

``psymodal``  the workflow's jobs: ``python -m psymodal.cli mri`` per batch of ``--batch-size``
              subjects, built by :func:`psymodal.workflow.commands.mri_command` (per-subject time
              series, features and QC files written, batch tables stacked), then
              ``psymodal collect`` of the batch features and QC tables into the group tables.
``nilearn``   one plain script: read each file with numpy, z-score (``nilearn.signal.clean``),
              :class:`nilearn.connectome.ConnectivityMeasure` (Ledoit-Wolf, ``correlation``),
              Fisher z (arctanh), one group table written with ``numpy.savetxt``.

Processes run one after the other (the machine has two cores shared with other work), so both
sides include their process start-up. Prints each repeat's wall and CPU time (user + system of
the child processes: steadier than wall time on a loaded machine) and the median ratios.
Target: psymodal <= 3x the plain script.

Usage::

    python benchmarks/mri_timeseries_speed.py [--subjects 871] [--repeats 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_REGIONS = 111
VOLUMES = (78, 316)

PLAIN_SCRIPT = r"""
import sys, warnings
from pathlib import Path
import numpy as np
from nilearn.connectome import ConnectivityMeasure
from nilearn.signal import clean

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
rows, names = [], []
measure = ConnectivityMeasure(kind="correlation", standardize=False)
for path in sorted(folder.glob("*.1D")):
    values = np.loadtxt(path, comments="#")
    values = clean(values, detrend=False, standardize="zscore_sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        matrix = measure.fit_transform([values])[0]
    iu = np.triu_indices(matrix.shape[0], k=1)
    rows.append(np.arctanh(np.clip(matrix[iu], -1 + 1e-7, 1 - 1e-7)))
    names.append(path.name.split("_")[0])
np.savetxt(out, np.vstack(rows), fmt="%.10g", delimiter="\t")
print(len(rows), "subjects")
"""


def write_study(root: Path, n_subjects: int, seed: int = 0) -> Path:
    """``root/timeseries/sub-XXXXX_rois_ho.1D`` files and ``root/participants.tsv`` (once)."""
    folder = root / "timeseries"
    done = root / "complete"
    if done.is_file() and done.read_text() == str(n_subjects):
        return folder
    shutil.rmtree(root, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    header = "#" + "\t".join(f"#{2001 + k}" for k in range(N_REGIONS))
    rows = ["participant_id\tdiagnosis\tage\tsex\tsite"]
    mixing = rng.normal(size=(12, N_REGIONS))
    for i in range(n_subjects):
        sub = f"{50001 + i:05d}"
        n = int(rng.integers(VOLUMES[0], VOLUMES[1] + 1))
        values = rng.normal(size=(n, 12)) @ mixing + rng.normal(size=(n, N_REGIONS))
        np.savetxt(
            folder / f"{sub}_rois_ho.1D", values, fmt="%.6f", delimiter="\t", header=header[1:]
        )
        rows.append(f"sub-{sub}\t{'patient' if i % 2 else 'control'}\t{20 + i % 30}\tM\tS{i % 5}")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    done.write_text(str(n_subjects))
    return folder


def psymodal_commands(root: Path, out: Path, batch_size: int, n_subjects: int) -> list[list]:
    """The workflow's command lines for the MRI stage and its group tables."""
    from psymodal.settings import resolve_config
    from psymodal.workflow import commands
    from psymodal.workflow.stage_tables import batch_dir, batch_table, group_table

    config = resolve_config(
        {
            "results_dir": str(root),
            "dataset": {
                "source": "timeseries",
                "timeseries_dir": str(root / "timeseries"),
                "timeseries_pattern": "{label}_rois_ho.1D",
            },
            "mri": {"timeseries": {"tr": 2.0, "atlas_name": "HO111"}},
        }
    )
    subjects = [f"sub-{50001 + i:05d}" for i in range(n_subjects)]
    batches = [subjects[i : i + batch_size] for i in range(0, n_subjects, batch_size)]
    cli = [sys.executable, "-m", "psymodal.cli"]
    bdir = batch_dir(out)
    jobs = [
        cli
        + commands.mri_command(
            config, batch, root, out, root / "atlas", batch=str(k), batch_dir=bdir
        )
        for k, batch in enumerate(batches)
    ]
    for kind in ("features", "qc"):
        tables = [str(batch_table(bdir, "mri", k, kind)) for k in range(len(batches))]
        jobs.append(cli + ["collect", str(group_table(out, "mri", kind)), *tables])
    return jobs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(jobs: list[list]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child processes) of running ``jobs``."""
    start, cpu = time.perf_counter(), _children_cpu()
    for job in jobs:
        subprocess.run(job, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def run_psymodal(root: Path, batch_size: int, n_subjects: int) -> tuple[float, float]:
    out = root / "psymodal_out"
    shutil.rmtree(out, ignore_errors=True)
    return _timed(psymodal_commands(root, out, batch_size, n_subjects))


def run_plain(root: Path) -> tuple[float, float]:
    script = [sys.executable, "-c", PLAIN_SCRIPT, str(root / "timeseries"), str(root / "plain.tsv")]
    return _timed([script])


def check_equal(root: Path) -> tuple[float, int]:
    """Largest difference between psymodal's group features and the plain script's, over the
    subjects psymodal's QC includes (those with under 3 min of data are excluded: n/a rows),
    and the number of excluded subjects."""
    import pandas as pd

    from psymodal.workflow.stage_tables import group_table

    ours = pd.read_csv(group_table(root / "psymodal_out", "mri", "features"), sep="\t")
    ours = ours.iloc[:, 1:].to_numpy(dtype=float)
    plain = np.loadtxt(root / "plain.tsv", delimiter="\t", ndmin=2)
    included = np.isfinite(ours).all(axis=1)
    return float(np.max(np.abs(ours[included] - plain[included]))), int((~included).sum())


def profile_batch(root: Path, batch_size: int) -> None:
    """cProfile of one batch job, in this process (top functions by cumulative time)."""
    from psymodal import cli

    job = psymodal_commands(root, root / "profile_out", batch_size, batch_size)[0]
    profiler = cProfile.Profile()
    profiler.runcall(cli.main, job[3:])
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=871)
    parser.add_argument("--batch-size", type=int, default=64, help="the default batch_size")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--profile", action="store_true", help="profile one batch and stop")
    args = parser.parse_args()
    root = args.workdir / f"psymodal_ts_bench_{args.subjects}"
    write_study(root, args.subjects)
    if args.profile:
        profile_batch(root, args.batch_size)
        return
    times = {"psymodal": [], "nilearn": []}
    cpu = {"psymodal": [], "nilearn": []}
    for repeat in range(args.repeats):
        order = ["psymodal", "nilearn"] if repeat % 2 == 0 else ["nilearn", "psymodal"]
        for side in order:
            wall, used = (
                run_psymodal(root, args.batch_size, args.subjects)
                if side == "psymodal"
                else run_plain(root)
            )
            times[side].append(wall)
            cpu[side].append(used)
            print(f"repeat {repeat + 1} {side:9s} {wall:8.2f} s wall {used:8.2f} s CPU", flush=True)
    diff, excluded = check_equal(root)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        json.dumps(
            {
                "subjects": args.subjects,
                "batch_size": args.batch_size,
                "median_s": med,
                "per_subject_ms": {k: 1000 * v / args.subjects for k, v in med.items()},
                "ratio_psymodal_over_nilearn": med["psymodal"] / med["nilearn"],
                "median_cpu_s": med_cpu,
                "cpu_ratio_psymodal_over_nilearn": med_cpu["psymodal"] / med_cpu["nilearn"],
                "max_abs_feature_difference": diff,
                "excluded_by_qc": excluded,
                "load_average": os.getloadavg(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
