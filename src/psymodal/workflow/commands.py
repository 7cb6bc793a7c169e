"""The one builder of the ``psymodal`` command lines that the workflow's jobs run.

The Snakemake rules and the audit's reruns both call these functions, so that a rerun runs
exactly what a rule ran. Every function returns an argument list (never a shell string): the
rules join it with :func:`shlex.join`, so that identifiers and paths taken from the data are
quoted, whatever they hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from psymodal.mri.paths import atlas_files
from psymodal.workflow.plan import atlas_name, fmriprep_dir, mri_input, participants_tsv

__all__ = [
    "anonymize_command",
    "atlas_command",
    "demo_command",
    "import_participants_command",
    "language_command",
    "learn_command",
    "mri_command",
    "mri_source_arguments",
    "settings_argument",
    "share_features_command",
    "speech_command",
]

PathLike = str | os.PathLike


def settings_argument(section: Mapping) -> str:
    """A settings section as the JSON text of a ``--settings`` argument (sorted keys)."""
    return json.dumps(section, sort_keys=True)


def mri_source_arguments(config: Mapping, atlas_dir: PathLike) -> list[str]:
    """``psymodal mri`` arguments that say where a study's MRI data (and atlas) are.

    ``config`` is an effective configuration (:func:`psymodal.settings.resolve_config`);
    ``atlas_dir`` holds the ``atlas`` rule's output (unused for ROI time-series input, which
    needs no atlas).
    """
    kind = mri_input(config)
    dataset = config["dataset"]
    args = ["--input", kind, "--participants", str(participants_tsv(config))]
    if kind == "timeseries":
        args += ["--timeseries-dir", str(dataset["timeseries_dir"])]
        return args + ["--timeseries-pattern", str(dataset["timeseries_pattern"])]
    name = atlas_name(config["mri"]["atlas"])
    nii, tsv = atlas_files(atlas_dir, name)
    args += ["--fmriprep-dir", str(fmriprep_dir(config)), "--atlas", str(nii)]
    return args + ["--atlas-labels", str(tsv), "--atlas-name", name]


def demo_command(config: Mapping, bids_dir: PathLike) -> list[str]:
    """Generate the demo study described by ``dataset.demo`` into ``bids_dir``."""
    return ["demo", str(bids_dir), "--settings", settings_argument(config["dataset"]["demo"])]


def import_participants_command(config: Mapping, output: PathLike) -> list[str]:
    """Write a time-series study's participants.tsv: reads the ``dataset`` section and the
    atlas name only, so that other settings (``learn``...) do not rerun it or the MRI jobs."""
    atlas = config["mri"]["timeseries"]["atlas_name"]
    args = ["import-participants", str(output), "--dataset", settings_argument(config["dataset"])]
    return args + (["--atlas-name", str(atlas)] if atlas else [])


def atlas_command(config: Mapping, atlas_dir: PathLike) -> list[str]:
    """Write the configured atlas (image and labels table) into ``atlas_dir``."""
    return ["atlas", str(atlas_dir), "--settings", settings_argument(config["mri"]["atlas"])]


def _batch(batch: int | str | None, batch_dir: PathLike | None) -> list[str]:
    if batch is None:
        return []
    return ["--batch-dir", str(batch_dir), "--batch", str(batch)]


def _strict(config: Mapping) -> list[str]:
    """``--strict`` when the config asks for fail-fast (absent otherwise, so that command
    lines, and Snakemake's rerun decisions, stay as they were)."""
    return ["--strict"] if config.get("strict") else []


def mri_command(
    config: Mapping,
    subjects: Sequence[str],
    bids_dir: PathLike,
    out_dir: PathLike,
    atlas_dir: PathLike,
    batch: int | str | None = None,
    batch_dir: PathLike | None = None,
) -> list[str]:
    """The MRI stage for ``subjects`` (and, with ``batch``, the batch's group tables)."""
    return (
        ["mri", "--subjects", *subjects, "--bids-dir", str(bids_dir)]
        + mri_source_arguments(config, atlas_dir)
        + ["--out-dir", str(out_dir), *_batch(batch, batch_dir), *_strict(config)]
        + ["--settings", settings_argument(config["mri"])]
    )


def speech_command(
    config: Mapping,
    subjects: Sequence[str],
    bids_dir: PathLike,
    out_dir: PathLike,
    batch: int | str | None = None,
    batch_dir: PathLike | None = None,
) -> list[str]:
    """The speech stage for ``subjects`` (and, with ``batch``, the batch's group tables)."""
    return _recording_stage("speech", config, subjects, bids_dir, out_dir, batch, batch_dir)


def language_command(
    config: Mapping,
    subjects: Sequence[str],
    bids_dir: PathLike,
    out_dir: PathLike,
    batch: int | str | None = None,
    batch_dir: PathLike | None = None,
) -> list[str]:
    """The language stage for ``subjects`` (and, with ``batch``, the batch's group tables)."""
    return _recording_stage("language", config, subjects, bids_dir, out_dir, batch, batch_dir)


def _recording_stage(stage, config, subjects, bids_dir, out_dir, batch, batch_dir) -> list[str]:
    """Speech and language read the same BIDS audio folders and take the same arguments."""
    return (
        [stage, "--subjects", *subjects, "--bids-dir", str(bids_dir)]
        + ["--out-dir", str(out_dir), *_batch(batch, batch_dir), *_strict(config)]
        + ["--settings", settings_argument(config[stage])]
    )


def _pairs(tables: Mapping[str, PathLike]) -> list[str]:
    return [f"{modality}={path}" for modality, path in tables.items()]


def learn_command(
    config: Mapping,
    participants: PathLike,
    features: Mapping[str, PathLike],
    qc: Mapping[str, PathLike],
    out_dir: PathLike,
    n_jobs: int | None = None,
) -> list[str]:
    """The learning stage: ``features`` and ``qc`` map modality -> group table (in the order
    of :func:`psymodal.workflow.plan.stage_modalities`), as the ``learn`` rule passes them;
    ``n_jobs`` is the job's threads (used when ``learn.cv.n_jobs`` is null)."""
    return (
        ["learn", "--participants", str(participants), "--features", *_pairs(features)]
        + ["--qc", *_pairs(qc), "--out-dir", str(out_dir)]
        + ["--settings", settings_argument(config["learn"])]
        + (["--n-jobs", str(n_jobs)] if n_jobs else [])
    )


def predict_command(
    config: Mapping,
    participants: PathLike,
    features: Mapping[str, PathLike],
    qc: Mapping[str, PathLike],
    out_dir: PathLike,
) -> list[str]:
    """A saved model (``predict.model``) applied to the study's group tables."""
    return ["predict", str(config["predict"]["model"]), "--participants", str(participants)] + [
        "--features",
        *_pairs(features),
        "--qc",
        *_pairs(qc),
        "--out-dir",
        str(out_dir),
    ]


def anonymize_command(
    config: Mapping, bids_dir: PathLike, out_dir: PathLike, key_file: PathLike
) -> list[str]:
    """The shareable copy of the study (``anonymize`` section), defaced with fMRIPrep's masks."""
    section = config["anonymize"]
    mapping = section["mapping_file"]
    return (
        ["anonymize", str(bids_dir), str(out_dir), "--key-file", str(key_file)]
        + ["--fmriprep-dir", str(fmriprep_dir(config))]
        + (["--mapping-file", str(mapping)] if mapping else [])
        + ["--settings", settings_argument(section)]
    )


def share_features_command(
    config: Mapping,
    participants: PathLike,
    feature_tables: Mapping[str, PathLike],
    out_dir: PathLike,
    key_file: PathLike,
    timeseries_dir: PathLike | None = None,
    recordings_dir: PathLike | None = None,
) -> list[str]:
    """The study's feature tables under the shareable copy's pseudonyms (``snakemake share``),
    with the linkage attacks measured on the MRI stage's time series and the study's
    recordings when given."""
    return (
        ["share-features", str(participants), str(out_dir), "--key-file", str(key_file)]
        + ["--features", *_pairs(feature_tables)]
        + (["--timeseries-dir", str(timeseries_dir)] if timeseries_dir is not None else [])
        + (
            ["--recordings-dir", str(recordings_dir)]
            + ["--speech-settings", settings_argument(config["speech"])]
            if recordings_dir is not None
            else []
        )
        + ["--settings", settings_argument(config["anonymize"])]
    )
