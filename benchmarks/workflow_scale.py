"""How fast Snakemake plans the workflow for a large study: `snakemake -n` on synthetic BIDS.

Writes a cheap BIDS study (participants.tsv plus empty placeholder files where the workflow
looks for fMRIPrep BOLD/confounds and speech recordings; a dry run never opens them), a
config with ``dataset.source: bids``, then times ``snakemake -n`` and reports jobs per second.

    python benchmarks/workflow_scale.py                      # 1,000 and 5,000 subjects
    python benchmarks/workflow_scale.py --subjects 5000 --profile   # + cProfile top functions

Target: a dry run under 30 s at 5,000 subjects (see docs/cluster.md).

``--full N`` runs the whole workflow for real instead: a study of N subjects' ready ROI time
series of ABIDE Preprocessed's shape (``mri_timeseries_speed.write_study``: 111 regions, 78-316
volumes, ``.1D``) in ``--workdir``, the MRI stage (``--batch-size`` subjects per job), group
tables, learning with cheap settings (5-fold logistic, no permutations, no added-value test, no
explanations) and the report, under ``/usr/bin/time -v`` at ``nice -n 15``. Prints the wall time
per step (from Snakemake's log, :func:`psymodal.workflow.summary.step_times`), the peak memory
of the largest process, and a projection to a SLURM cluster of ``--nodes`` nodes from the
measured per-job times (each job on its own node, steps one after the other as their
dependencies require; queueing and file-system waits not included)::

    python benchmarks/workflow_scale.py --full 5000 --workdir /tmp/scale5000 --cores 2
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


def write_full_config(root: Path, batch_size: int) -> Path:
    """The working folder of a full run: its config/config.yaml for the generated study."""
    work = root / "work"
    config = {
        "dataset": {
            "source": "timeseries",
            "bids_dir": str(root),
            "participants": str(root / "participants.tsv"),
            "timeseries_dir": str(root / "timeseries"),
            "timeseries_pattern": "{label}_rois_ho.1D",
        },
        "results_dir": str(root / "results"),
        "batch_size": batch_size,
        "mri": {
            "enabled": True,
            "input": "timeseries",
            "timeseries": {"tr": 2.0, "atlas_name": "HO111"},
            "connectivity": "correlation",
        },
        "speech": {"enabled": False},
        "language": {"enabled": False},
        "learn": {
            "confounds": ["age", "sex", "site"],
            "cv": {"strategy": "stratified", "folds": 5, "repeats": 1, "seed": 0},
            "models": ["logistic"],
            "fusion": ["late"],
            "added_value": False,
            "permutation": {"n": 0},
            "metrics": {"bootstrap": 200},
            "explain": {"enabled": False},
        },
    }
    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return work


def _peak_rss_mib(time_output: str) -> float | None:
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_output)
    return int(match.group(1)) / 1024 if match else None


def project_cluster(jobs: list[dict], nodes: int) -> dict:
    """Wall time of the measured jobs on ``nodes`` single-job nodes, rule after rule.

    Each rule's jobs are spread over the nodes longest first (greedy), and a rule starts when
    the one before it in the run has finished (the workflow's steps depend on each other in
    that order: MRI batches, group tables, learning, report). Returns the projected wall
    time, the measured jobs' summed time (the node-hours billed) and the time per rule.
    """
    import heapq

    by_rule: dict[str, list[float]] = {}
    order: list[str] = []
    for job in sorted(jobs, key=lambda j: j["start"]):
        if job["end"] is None or job["rule"] == "all":
            continue
        if job["rule"] not in by_rule:
            order.append(job["rule"])
        by_rule.setdefault(job["rule"], []).append(job["end"] - job["start"])
    per_rule, total = {}, 0.0
    for rule in order:
        finish = [0.0] * min(nodes, len(by_rule[rule]))
        for duration in sorted(by_rule[rule], reverse=True):
            heapq.heapreplace(finish, finish[0] + duration)
        per_rule[rule] = max(finish)
        total += max(finish)
    job_seconds = sum(sum(v) for v in by_rule.values())
    return {"wall_s": total, "job_s": job_seconds, "per_rule_s": per_rule}


def full_run(
    n: int, workdir: Path, cores: int, batch_size: int, nodes: int, target: int | None = None
) -> int:
    """Generate the study, run the whole workflow, print the times, memory and projection."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mri_timeseries_speed import write_study as write_timeseries_study

    start = time.perf_counter()
    write_timeseries_study(workdir, n)
    print(f"study of {n} subjects written in {time.perf_counter() - start:.0f} s", flush=True)
    work = write_full_config(workdir, batch_size)
    command = [
        "/usr/bin/time",
        "-v",
        "nice",
        "-n",
        "15",
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        str(cores),
        "--workflow-profile",
        "none",
    ]
    print(" ".join(command), flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    (workdir / "snakemake_stdout.txt").write_text(result.stdout)
    (workdir / "snakemake_stderr.txt").write_text(result.stderr)
    logs = sorted((work / ".snakemake" / "log").glob("*.snakemake.log"))
    if result.returncode != 0 or not logs:
        print(result.stderr[-5000:])
        print(f"workflow failed (exit {result.returncode}) after {wall:.0f} s")
        return 1
    print(f"\nwhole run: {wall:.0f} s wall, {cores} cores")
    print(f"peak memory of the largest process: {_peak_rss_mib(result.stderr) or 0:.0f} MiB")
    report_run(logs[-1], n, target or n, batch_size, nodes)
    return 0


def project_study(jobs: list[dict], n: int, target: int, batch_size: int) -> list[dict]:
    """The jobs of a ``target``-subject study from those measured on ``n`` subjects.

    Rules with several jobs (the per-batch stages) get ``ceil(target / batch_size)`` jobs at
    their measured median duration; single-job rules (tables of all subjects, learning, the
    report) are scaled linearly with the number of subjects, an assumption stated with the
    figures (learning is at least linear in subjects).
    """
    import statistics

    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        if job["end"] is not None and job["rule"] != "all":
            by_rule.setdefault(job["rule"], []).append(job)
    out = []
    for rule, rule_jobs in by_rule.items():
        first = min(j["start"] for j in rule_jobs)
        durations = [j["end"] - j["start"] for j in rule_jobs]
        if len(rule_jobs) > 1 and rule.endswith("_batch"):
            each = statistics.median(durations)
            count = -(-target // batch_size)
        else:
            each, count = sum(durations) * target / n / len(rule_jobs), len(rule_jobs)
        out += [{"rule": rule, "start": first, "end": first + each}] * count
    return out


def report_run(log: Path, n: int, target: int, batch_size: int, nodes: int) -> None:
    """Print the steps' times of a run's Snakemake log and the cluster projection(s)."""
    from psymodal.workflow.summary import job_times, step_times

    print(f"\n{'step':<28} {'jobs':>5} {'wall_s':>8} {'job_s':>9} {'s/job':>7}")
    for step in step_times(log):
        print(
            f"{step['rule']:<28} {step['jobs']:>5} {step['wall']:>8.0f} {step['job_time']:>9.0f}"
            f" {step['job_time'] / step['jobs']:>7.1f}"
        )
    jobs = job_times(log)
    runs = [(n, jobs, "measured")]
    if target != n:
        planned = project_study(jobs, n, target, batch_size)
        runs.append((target, planned, f"projected from the {n}-subject run's"))
    for size, planned, what in runs:
        projection = project_cluster(planned, nodes)
        print(
            f"\n{size} subjects on {nodes} nodes (one job per node, steps in sequence; {what}"
            f" job times on this machine, queueing not included): {projection['wall_s']:.0f} s"
            f" wall, {projection['job_s'] / 3600:.2f} node-hours"
        )
        for rule, seconds in projection["per_rule_s"].items():
            print(f"  {rule:<28} {seconds:>8.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument(
        "--batch-size", type=int, help="subjects per job (default 10; --full: N / --nodes)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="timed dry runs per size")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--keep", type=Path, help="write the studies here and keep them")
    parser.add_argument("--full", type=int, metavar="N", help="a real run of N subjects")
    parser.add_argument("--workdir", type=Path, help="--full: the study and run's folder")
    parser.add_argument("--cores", type=int, default=2, help="--full: snakemake --cores")
    parser.add_argument("--nodes", type=int, default=100, help="--full: cluster projection")
    parser.add_argument("--target", type=int, help="--full: also project a study this large")
    parser.add_argument(
        "--report-log", type=Path, help="--full: only report this finished run's Snakemake log"
    )
    args = parser.parse_args(argv)
    if args.full:
        workdir = args.workdir or Path(tempfile.gettempdir()) / f"scale{args.full}"
        batch = args.batch_size or max(1, -(-args.full // args.nodes))
        if args.report_log:
            report_run(args.report_log, args.full, args.target or args.full, batch, args.nodes)
            return 0
        return full_run(args.full, workdir, args.cores, batch, args.nodes, args.target)
    args.batch_size = args.batch_size or 10

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
