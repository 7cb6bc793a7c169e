"""The per-run MRI QC figure: Pillow (``psymodal.mri.figures.qc_figure``) against the
matplotlib version it replaced (commit af78ba5's, read from git), and the figure's share of an MRI
batch job.

1. Figure: the small demo's runs (the inputs the MRI stage hands the figure, captured from
   ``process_subject``) drawn by both versions alternately, ``--repeats`` times; CPU seconds
   of this process, medians per figure and their ratio.
2. Job: the workflow's MRI batch job (``psymodal mri`` on the first ``--batch`` subjects, the
   command built by ``psymodal.workflow.commands.mri_command`` as the ``mri_batch`` rule does)
   with ``mri.qc_figure`` true and false alternately, and, with ``--before-src``, true with
   that ``src`` folder (e.g. ``git archive af78ba5 src | tar -x -C /tmp/before``: the
   matplotlib figure) first on ``PYTHONPATH``; CPU seconds of the child process (user +
   system), medians; the figure's share of the job = (on - off) / on. The job's CPU varies by
   more than the Pillow figure costs under load, so the share is also given from the per-figure
   medians of part 1: subjects x figure / (job off + subjects x figure).

The demo (``psymodal demo``, small variant) and its atlas are made in ``--workdir`` if missing.

Usage::

    python benchmarks/mri_qc_figure_speed.py [--repeats 5] [--workdir /tmp/mri_qc_fig]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

# The baseline: the matplotlib figure exactly as commit af78ba5 drew it (the commit before the
# Pillow figure), read from the repository's history rather than kept as a copy here.
BASELINE_COMMIT = "af78ba5"
REPO = Path(__file__).resolve().parents[1]


def matplotlib_qc_figure_module():
    """``psymodal.mri.figures`` of :data:`BASELINE_COMMIT`, loaded as a module of the
    ``psymodal.mri`` package (its relative imports resolve against today's package)."""
    import importlib.util

    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{BASELINE_COMMIT}:src/psymodal/mri/figures.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader(f"psymodal.mri._figures_{BASELINE_COMMIT}", None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "psymodal.mri"
    exec(compile(source, f"{BASELINE_COMMIT}:src/psymodal/mri/figures.py", "exec"), module.__dict__)
    return module


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "psymodal.cli", *args]


def prepare(workdir: Path) -> tuple[Path, Path, Path]:
    """The small demo study and the dosenbach160 atlas files (made once in ``workdir``)."""
    bids = workdir / "demo"
    if not (bids / "participants.tsv").exists():
        subprocess.run(_cli("demo", str(bids), "--small"), check=True)
    atlas_dir = workdir / "atlas"
    nii = atlas_dir / "atlas-dosenbach160_dseg.nii.gz"
    if not nii.exists():
        from psymodal.mri.atlas import load_default_atlas, write_atlas

        write_atlas(load_default_atlas(), atlas_dir)
    return bids, nii, nii.with_name("atlas-dosenbach160_dseg.tsv")


def figure_inputs(bids: Path, nii: Path, tsv: Path, subjects: list[str], out: Path) -> list:
    """The arguments ``process_subject`` hands the figure for each run of ``subjects``."""
    import psymodal.mri.figures as figures
    from psymodal.mri.atlas import load_atlas_from_path
    from psymodal.mri.subject_runs import process_subject

    captured = []
    drawn = figures.qc_figure
    figures.qc_figure = lambda *a, **k: captured.append((a, k)) or Path(a[0])
    try:
        atlas = load_atlas_from_path(str(nii), str(tsv), "dosenbach160")
        for sub in subjects:
            process_subject(
                sub, bids, bids / "derivatives" / "fmriprep", atlas, out, {"qc_figure": True}
            )
    finally:
        figures.qc_figure = drawn
    return captured


def figure_speed(captured: list, repeats: int, out: Path) -> dict:
    """CPU seconds per figure, matplotlib then Pillow alternately; medians over repeats."""
    from psymodal.mri.figures import qc_figure

    matplotlib_qc_figure = matplotlib_qc_figure_module().qc_figure
    times: dict[str, list[float]] = {"matplotlib": [], "pillow": []}
    for name, draw in (("matplotlib", matplotlib_qc_figure), ("pillow", qc_figure)):
        for k, (args, kwargs) in enumerate(captured):  # warm-up: imports, font caches
            draw(out / f"warm-{name}-{k}.png", *args[1:], **kwargs)
    for _ in range(repeats):
        for name, draw in (("matplotlib", matplotlib_qc_figure), ("pillow", qc_figure)):
            t0 = time.process_time()
            for k, (args, kwargs) in enumerate(captured):
                draw(out / f"{name}-{k}.png", *args[1:], **kwargs)
            times[name].append((time.process_time() - t0) / len(captured))
    old, new = statistics.median(times["matplotlib"]), statistics.median(times["pillow"])
    return {
        "figures_per_repeat": len(captured),
        "matplotlib_cpu_s_per_figure": old,
        "pillow_cpu_s_per_figure": new,
        "speedup_matplotlib_over_pillow": old / new,
        "png_bytes": {
            "matplotlib": (out / "matplotlib-0.png").stat().st_size,
            "pillow": (out / "pillow-0.png").stat().st_size,
        },
    }


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def job_share(
    bids: Path,
    nii: Path,
    subjects: list[str],
    repeats: int,
    out: Path,
    before_src: Path | None = None,
) -> dict:
    """CPU of the MRI batch job with the QC figure on and off (and on with the code of
    ``before_src``), alternately; medians."""
    from psymodal.settings import resolve_config
    from psymodal.workflow.commands import mri_command

    modes = ["figure_on", "figure_off"] + (["before_figure_on"] if before_src else [])
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for k in range(repeats):
        for mode in modes:
            config = resolve_config(
                {
                    "dataset": {"source": "bids", "bids_dir": str(bids)},
                    "batch_size": len(subjects),
                    "mri": {"atlas": {"name": "dosenbach160"}, "qc_figure": mode != "figure_off"},
                }
            )
            job = out / f"job-{mode}-{k}"
            args = mri_command(config, subjects, bids, job, nii.parent, 0, job / "batches")
            env = dict(os.environ)
            if mode.startswith("before"):
                env["PYTHONPATH"] = os.pathsep.join([str(before_src), env.get("PYTHONPATH", "")])
            before = _child_cpu()
            subprocess.run(_cli(*args), check=True, capture_output=True, env=env)
            times[mode].append(_child_cpu() - before)
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    off = medians["figure_off"]
    result = {"subjects": len(subjects), **{f"job_cpu_s_{m}": v for m, v in medians.items()}}
    for mode in modes:
        if mode != "figure_off":
            result[f"share_{mode}"] = (medians[mode] - off) / medians[mode]
    return {**result, "runs": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4, help="subjects in the MRI job")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mri_qc_figure_speed"))
    parser.add_argument("--figures-only", action="store_true")
    parser.add_argument("--before-src", type=Path, help="src folder of the matplotlib version")
    args = parser.parse_args()
    bids, nii, tsv = prepare(args.workdir)
    subjects = sorted(pd.read_csv(bids / "participants.tsv", sep="\t")["participant_id"])
    subjects = [s.removeprefix("sub-") for s in subjects[: args.batch]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        captured = figure_inputs(bids, nii, tsv, subjects, tmp / "capture")
        result = {"figure": figure_speed(captured, args.repeats, tmp)}
        if not args.figures_only:
            job = job_share(bids, nii, subjects, args.repeats, tmp, args.before_src)
            fig, off = result["figure"], job["job_cpu_s_figure_off"]
            for name in ("matplotlib", "pillow"):
                cost = len(subjects) * fig[f"{name}_cpu_s_per_figure"]
                job[f"share_from_figure_medians_{name}"] = cost / (off + cost)
            result["job"] = job
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
