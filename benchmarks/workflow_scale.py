"""How fast Snakemake plans the workflow for a large study: `snakemake -n` on synthetic BIDS.

Writes a cheap BIDS study (participants.tsv plus empty placeholder files where the workflow
looks for fMRIPrep BOLD/confounds and speech recordings; a dry run never opens them), a
config with ``dataset.source: bids``, then times ``snakemake -n`` and reports jobs per second.

    python benchmarks/workflow_scale.py                      # 1,000 and 5,000 subjects
    python benchmarks/workflow_scale.py --subjects 5000 --profile   # + cProfile top functions

Target: a dry run under 30 s at 5,000 subjects (see docs/cluster.md).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_study(root: Path, n_subjects: int, n_sites: int = 10) -> Path:
    """A BIDS study with empty placeholder files at the paths the workflow globs."""
    bids = root / "bids"
    fmriprep = bids / "derivatives" / "fmriprep"
    rows = ["participant_id\tdiagnosis\tage\tsex\tsite"]
    for i in range(1, n_subjects + 1):
        sub = f"sub-{i:05d}"
        diagnosis = "patient" if i % 2 else "control"
        rows.append(f"{sub}\t{diagnosis}\t{20 + i % 40}\t{'MF'[i % 2]}\tsite{i % n_sites}")
        func = fmriprep / sub / "func"
        func.mkdir(parents=True)
        stem = f"{sub}_task-rest"
        (func / f"{stem}_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz").touch()
        (func / f"{stem}_desc-confounds_timeseries.tsv").touch()
        audio = bids / sub / "audio"
        audio.mkdir(parents=True)
        (audio / f"{sub}_task-reading_audio.wav").touch()
    (bids / "participants.tsv").write_text("\n".join(rows) + "\n")
    (bids / "dataset_description.json").write_text(
        '{"Name": "synthetic scale study", "BIDSVersion": "1.9.0"}\n'
    )
    return bids


def write_config(workdir: Path, bids: Path, batch_size: int) -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dataset"] = {"source": "bids", "bids_dir": str(bids), "fmriprep_dir": None}
    config["results_dir"] = str(workdir / "results")
    config["batch_size"] = batch_size
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def dry_run_args(workdir: Path) -> list[str]:
    return [
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "1",
        "--dry-run",
        "--quiet",
        "rules",
        "--workflow-profile",
        "none",
    ]


def count_jobs(text: str) -> int:
    match = re.search(r"^total\s+(\d+)\s*$", text, flags=re.MULTILINE)
    if not match:
        raise RuntimeError(f"no job count in the dry run's output:\n{text[-3000:]}")
    return int(match.group(1))


def time_dry_run(workdir: Path) -> tuple[float, int]:
    """Wall time of a fresh `snakemake -n` process (start-up, parsing, DAG) and its job count."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *dry_run_args(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"snakemake -n failed:\n{result.stderr[-5000:]}")
    return wall, count_jobs(result.stdout + result.stderr)


def profile_dry_run(workdir: Path, top: int = 25) -> str:
    """cProfile of the dry run inside this process: where the planning time goes."""
    from snakemake.cli import main

    profiler = cProfile.Profile()
    with open(os.devnull, "w") as sink, redirect_stdout(sink), redirect_stderr(sink):
        profiler.enable()
        try:
            main(dry_run_args(workdir))
        except SystemExit:
            pass
        finally:
            profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="timed dry runs per size")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--keep", type=Path, help="write the studies here and keep them")
    args = parser.parse_args(argv)

    base = args.keep or Path(tempfile.mkdtemp(prefix="psymodal-scale-"))
    print(f"{'subjects':>8} {'batch':>5} {'jobs':>6} {'write_s':>7} {'dry_run_s':>9} {'jobs/s':>7}")
    try:
        for n in args.subjects:
            root = base / f"n{n}"
            shutil.rmtree(root, ignore_errors=True)
            start = time.perf_counter()
            bids = write_study(root, n)
            write_config(root / "work", bids, args.batch_size)
            written = time.perf_counter() - start
            for _ in range(args.repeats):
                wall, jobs = time_dry_run(root / "work")
                print(
                    f"{n:>8} {args.batch_size:>5} {jobs:>6} {written:>7.1f} {wall:>9.1f}"
                    f" {jobs / wall:>7.0f}",
                    flush=True,
                )
            if args.profile:
                print(profile_dry_run(root / "work"))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
