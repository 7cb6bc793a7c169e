"""The BIDS-App command line: ``psymodal bids-app BIDS_DIR OUTPUT_DIR participant|group``.

The convention of fMRIPrep, MRIQC and XCP-D (Gorgolewski et al. 2017, BIDS Apps), driving
the same Snakemake workflow as ``snakemake`` in the repository, in this process, through
Snakemake's Python entry points (:func:`snakemake.cli.parse_args` and
:func:`snakemake.cli.args_to_api`, which also read ``--profile``):

- ``participant``: the per-subject stages (MRI and speech features, QC) of every participant
  or of those given by ``--participant-label``;
- ``group``: everything, ending with the learning stage, the figures and the provenance
  manifest (per-subject work already done is reused).

The per-subject progress lines of the stage jobs (``subject 3/12 sub-04 done in 1.2 s,
elapsed 4 s, ETA 8 s``) are echoed on the console from their logs, and the run ends with the
time per step and the excluded or failed subjects (:mod:`psymodal.workflow.summary`).

It works from any folder. ``OUTPUT_DIR`` becomes ``results_dir`` and Snakemake's working
folder: the composed configuration is written to ``OUTPUT_DIR/config/config.yaml`` (so that a
later plain ``snakemake --directory OUTPUT_DIR`` reruns the same study), on top of the
settings schema's defaults, not of the repository's ``config/config.yaml``. Relative paths of
the ``dataset`` section in ``--config`` are read from ``BIDS_DIR`` (or from the working folder
when they exist only there).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

__all__ = ["add_arguments", "compose_config", "main", "run", "snakemake_arguments"]

#: ``dataset`` keys that hold paths.
_PATH_KEYS = ("participants", "timeseries_dir", "fmriprep_dir")
#: The per-subject stage jobs' logs, under ``results_dir`` (``<stage>-<key>/logs/``).
_STAGE_LOGS = "*-*/logs/*_batch-*.log"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The BIDS-App arguments (positional ``bids_dir output_dir analysis_level``)."""
    parser.add_argument("bids_dir", type=Path, help="the input dataset (BIDS, or time series)")
    parser.add_argument("output_dir", type=Path, help="where every output goes (results_dir)")
    parser.add_argument(
        "analysis_level",
        choices=["participant", "group"],
        help="participant: per-subject features and QC; group: also learning and the report",
    )
    parser.add_argument(
        "--participant-label",
        "--participant_label",
        nargs="+",
        metavar="LABEL",
        help="participant level only: these participants (with or without 'sub-')",
    )
    parser.add_argument("--config", type=Path, help="a psymodal config file (YAML)")
    parser.add_argument("--cores", type=int, help="CPU cores (default: the workflow profile's)")
    parser.add_argument("--profile", help="a Snakemake profile (e.g. profiles/slurm)")
    parser.add_argument(
        "--dry-run", action="store_true", help="show the jobs that would run, run none"
    )
    return parser


def _resolve_path(value: str | None, bids_dir: Path) -> str | None:
    if value is None or Path(value).is_absolute():
        return value
    inside, here = bids_dir / value, Path(value).resolve()
    return str(here if here.exists() and not inside.exists() else inside)


def compose_config(bids_dir: Path, output_dir: Path, config: dict | None = None) -> dict:
    """The effective config of a BIDS-App call: ``config`` with absolute paths, ``bids_dir``
    and ``results_dir`` from the command line, and ``dataset.source`` ``bids`` unless given.

    Raises
    ------
    psymodal.settings.SettingsError
        For an unknown key or a wrong value in ``config``.
    """
    from psymodal.settings import resolve_config

    config = copy.deepcopy(config or {})
    bids_dir = Path(bids_dir).resolve()
    dataset = config.setdefault("dataset", {})
    dataset.setdefault("source", "bids")
    dataset["bids_dir"] = str(bids_dir)
    for key in _PATH_KEYS:
        if key in dataset:
            dataset[key] = _resolve_path(dataset[key], bids_dir)
    config["results_dir"] = str(Path(output_dir).resolve())
    return resolve_config(config)


def snakefile() -> Path:
    """The workflow's Snakefile, beside the ``src`` folder psymodal is imported from."""
    import psymodal

    path = Path(psymodal.__file__).resolve().parents[2] / "Snakefile"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the BIDS-App runs the workflow of a psymodal checkout "
            "(git clone, then pip install -e .)."
        )
    return path


def _participant_targets(config: dict, labels: list[str] | None) -> list[str]:
    """The per-subject outputs of the participant level: the tables of the batches that hold
    the labelled participants (a batch is one job; its other participants come along)."""
    from psymodal.workflow.plan import StudyPlan
    from psymodal.workflow.stage_tables import KINDS

    plan = StudyPlan(config)
    batches = plan.batches()
    chosen = range(len(batches))
    if labels:
        wanted = {f"sub-{label.removeprefix('sub-')}" for label in labels}
        unknown = sorted(wanted - set(plan.subjects))
        if unknown:
            raise ValueError(
                f"--participant-label: {', '.join(unknown)} not in the study's participants "
                f"({plan.participants_source})."
            )
        chosen = [i for i, batch in enumerate(batches) if wanted & set(batch)]
    return [
        str(plan.batch_table(modality, i, kind))
        for modality in plan.modalities
        for i in chosen
        for kind in KINDS
    ]


def snakemake_arguments(args: argparse.Namespace, config: dict) -> list[str]:
    """Snakemake's command line for a BIDS-App call (after the config is written)."""
    argv = ["--snakefile", str(snakefile()), "--directory", config["results_dir"]]
    if args.cores is not None:
        argv += ["--cores", str(args.cores)]
    if args.profile:
        argv += ["--profile", str(args.profile)]
    if args.dry_run:
        argv.append("--dry-run")
    if args.analysis_level == "participant":
        argv += _participant_targets(config, args.participant_label)
    return argv


def run(args: argparse.Namespace) -> int:
    """Run the workflow for parsed BIDS-App arguments; the exit status (0: success)."""
    import yaml

    from psymodal.settings.record import write_config_yaml

    if args.participant_label and args.analysis_level == "group":
        raise ValueError(
            "--participant-label is for the participant level: the group level learns from "
            "every participant (leave some out in the participants table)."
        )
    if not Path(args.bids_dir).is_dir():
        raise FileNotFoundError(f"{args.bids_dir}: the input dataset folder does not exist.")
    given = yaml.safe_load(args.config.read_text()) if args.config else {}
    config = compose_config(args.bids_dir, args.output_dir, given or {})
    argv = snakemake_arguments(args, config)
    write_config_yaml(config, Path(config["results_dir"]) / "config" / "config.yaml")
    print(f"psymodal bids-app: snakemake {' '.join(argv)}", file=sys.stderr, flush=True)

    from snakemake.cli import args_to_api, parse_args
    from snakemake.exceptions import print_exception

    from psymodal.workflow.progress import LogFollower

    cwd = os.getcwd()
    # the per-subject progress lines of the stage jobs' logs (<stage>-<key>/logs/), on the console
    follower = LogFollower([(Path(config["results_dir"]), _STAGE_LOGS)])
    try:
        parser, parsed = parse_args(argv)
        with follower:
            return 0 if args_to_api(parsed, parser) else 1
    except Exception as error:  # Snakemake's own errors: printed as its command line does
        print_exception(error)
        return 1
    finally:
        os.chdir(cwd)  # --directory changes the process's folder


def main(argv: list[str] | None = None) -> int:
    """The ``psymodal-bids-app`` console script."""
    parser = add_arguments(argparse.ArgumentParser(prog="psymodal-bids-app", description=__doc__))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"psymodal bids-app: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
