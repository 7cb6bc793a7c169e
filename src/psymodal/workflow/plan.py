"""What the workflow will do for a config: subjects, batches and output paths.

Kept in the library (not in the Snakefile) so that it is tested without Snakemake and the
CLI, the workflow and the audit agree on every file name. It imports no numerical library
(pandas, nilearn, torch...): parsing the Snakefile needs only Snakemake, PyYAML and
jsonschema (the demo study, planned with NumPy, is the exception).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from psymodal import __version__
from psymodal.io.files import is_regular_file
from psymodal.settings import Settings, resolve_config, resolve_section
from psymodal.settings.record import write_config_yaml
from psymodal.workflow import stage_tables
from psymodal.workflow.participants import check_labels, check_participant_ids, read_table


def demo_spec_from_config(demo: dict):
    """Build the :class:`psymodal.demo.DemoSpec` described by ``dataset.demo``."""
    from psymodal.demo import DemoSpec

    demo = resolve_section("dataset.demo", demo)
    base = DemoSpec.small() if demo.pop("small", False) else DemoSpec()
    fields = {k: v for k, v in demo.items() if v is not None}
    return base.__class__(**{**base.__dict__, **fields})


def demo_flag_for(bids_dir) -> Path:
    """Written last by ``psymodal demo``: its presence means the demo study is complete."""
    return Path(bids_dir) / "code" / "psymodal-demo.json"


def atlas_name(spec: dict) -> str:
    """The atlas entity used in file names, from the config's ``mri.atlas`` section."""
    from psymodal.mri.paths import BUILTIN_ATLAS

    spec = resolve_section("mri.atlas", spec)
    if spec["path"] and not spec["name"]:
        stem = Path(spec["path"]).name.split(".")[0]
        entities = dict(part.split("-", 1) for part in stem.split("_") if "-" in part)
        return entities.get("atlas", stem)
    return spec["name"] or BUILTIN_ATLAS


def participants_tsv(config: dict) -> Path:
    """The participants.tsv the stages read: BIDS's, or the one imported into results_dir."""
    dataset = config["dataset"]
    if dataset["source"] == "timeseries":
        return Path(config["results_dir"]) / "participants.tsv"
    return Path(dataset["bids_dir"]) / "participants.tsv"


def fmriprep_dir(config: dict) -> Path:
    """The fMRIPrep derivatives folder: ``dataset.fmriprep_dir`` or BIDS's derivatives."""
    dataset = config["dataset"]
    return Path(dataset["fmriprep_dir"] or Path(dataset["bids_dir"]) / "derivatives" / "fmriprep")


def mri_input(config: dict) -> str:
    """What the MRI stage reads: ``fmriprep``, ``raw`` or ``timeseries``."""
    chosen = config["mri"]["input"]
    if chosen:
        return chosen
    return "timeseries" if config["dataset"]["source"] == "timeseries" else "fmriprep"


def speech_outputs(subject: str, out_dir, settings: dict) -> dict[str, Path]:
    """The per-subject speech features and QC tables (BIDS-Derivatives style names)."""
    from psymodal.speech.paths import subject_outputs

    return subject_outputs(subject, out_dir, settings["task"])


def stage_modalities(config: dict, stage: str) -> list[str]:
    """The feature tables a stage writes for an effective config (none when disabled): the MRI
    stage adds ``anat`` with fMRIPrep input. The workflow learns from all of them, in the
    order of :data:`STAGES`."""
    if not config[stage]["enabled"]:
        return []
    if stage == "mri":
        from psymodal.mri.sources import stage_modalities as mri_stage_modalities

        return mri_stage_modalities(config["mri"], mri_input(config))
    return [stage]


# Which stage folder holds each modality's tables.
MODALITY_STAGE = {"mri": "mri", "anat": "mri", "speech": "speech", "language": "language"}

#: The per-subject stages, in the order their modalities are learnt from.
STAGES = ("mri", "speech", "language")


# Settings that change where or how fast results are made, never what they are.
# (``strict`` only decides whether an unusable input stops the run or excludes its subject)
# (``predict`` applies a saved model next to the run's results; its folder is keyed by the model)
NOT_IN_RUN_KEY = ("results_dir", "run_label", "batch_size", "strict", "predict")


def _default_run_label(config: dict) -> str:
    """Hash of the effective config and psymodal's version (the commit is in provenance).

    The commit is left out on purpose: cluster jobs re-read the workflow, and a commit made
    while a run is going must not send its last jobs to another folder.
    """
    kept = {k: v for k, v in config.items() if k not in NOT_IN_RUN_KEY}
    return "run-" + settings_key(__version__, kept)


def run_label_of(config: dict) -> str:
    """The run label of an effective config (:func:`psymodal.settings.resolve_config`'s
    output): its ``run_label``, else a hash of the config and psymodal's version."""
    return config["run_label"] or _default_run_label(config)


def write_run_config(config: dict) -> Path:
    """Record the effective config in ``<results_dir>/runs/<run label>/provenance/config.yaml``.

    What :meth:`StudyPlan.write_run_config` writes, without planning the study: the
    ``record-config`` job needs no participant table (reading the demo's imported pandas).
    """
    config = resolve_config(config)
    run_dir = Path(config["results_dir"]) / "runs" / run_label_of(config)
    return write_config_yaml(config, run_dir / "provenance" / "config.yaml")


def settings_key(*parts, length: int = 10) -> str:
    """A short stable hash of JSON-serialisable settings (sorted keys)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass
class StudyPlan:
    """Subjects, batches and file names for one configured run.

    Parameters
    ----------
    config : dict
        The workflow configuration (``config/config.yaml``); it is checked and completed
        through :func:`psymodal.settings.resolve_config`, so ``plan.config`` holds every
        effective setting.
    """

    config: dict
    participants: list[dict] = field(init=False)
    participant_columns: list[str] = field(init=False)

    def __post_init__(self):
        self.config = resolve_config(self.config)
        self.settings = Settings(self.config)
        dataset = self.config["dataset"]
        self.is_demo = dataset["source"] == "demo"
        self.bids_dir = Path(dataset["bids_dir"])
        self.fmriprep_dir = fmriprep_dir(self.config)
        self.results_dir = Path(self.config["results_dir"])
        self.batch_size = int(self.config["batch_size"])
        self.run_label = run_label_of(self.config)
        self.source = dataset["source"]
        self.timeseries_dir = dataset["timeseries_dir"]
        if self.is_demo:
            from psymodal.demo import plan

            table = plan(demo_spec_from_config(dataset["demo"]))
            self.participant_columns = [str(c) for c in table.columns]
            self.participants = table.to_dict("records")
        elif self.source == "timeseries":
            from psymodal.mri.phenotype import timeseries_participants

            self.participant_columns, self.participants = timeseries_participants(
                dataset, self.config["mri"]["timeseries"]["atlas_name"]
            )
        else:
            self.participant_columns, self.participants = self._read_participants()
        # before any job: identifiers become file names and command-line arguments, and the
        # label column must give two classes (not after hours of feature work)
        check_participant_ids(self.participants, self.participants_source)
        check_labels(self.participants, self.participants_source, self.config["learn"])

    @classmethod
    def from_config(cls, config: dict) -> StudyPlan:
        return cls(config)

    @property
    def participants_source(self) -> Path:
        """The participants table as given (BIDS participants.tsv or e.g. ABIDE's CSV)."""
        given = self.config["dataset"]["participants"]
        return Path(given) if given else self.bids_dir / "participants.tsv"

    @property
    def participants_tsv(self) -> Path:
        """The participants.tsv the learning stage reads (imported for non-BIDS tables)."""
        return participants_tsv(self.config)

    @property
    def mri_input(self) -> str:
        return mri_input(self.config)

    def _read_participants(self) -> tuple[list[str], list[dict]]:
        path = self.participants_source
        if not path.exists():
            raise FileNotFoundError(
                f"{path} not found: dataset.bids_dir must point at a BIDS dataset with a "
                "participants.tsv (participant_id, diagnosis, age, sex, site)."
            )
        return read_table(path)

    def write_participants(self, path) -> Path:
        """Write the planned participants table (e.g. imported from ABIDE's) as a BIDS TSV."""
        from psymodal.workflow.participants import write_table

        return write_table(self.participant_columns, self.participants, path)

    @property
    def demo_flag(self) -> Path:
        return demo_flag_for(self.bids_dir)

    # ---- versioned layout --------------------------------------------------------------
    def _dataset_identity(self) -> dict:
        dataset = self.config["dataset"]
        identity = {"source": dataset["source"], "bids_dir": str(self.bids_dir)}
        if self.is_demo:
            identity["demo"] = dataset["demo"]
        elif self.source == "timeseries":
            identity["timeseries"] = [str(self.timeseries_dir), dataset["timeseries_pattern"]]
        else:
            identity["fmriprep_dir"] = str(self.fmriprep_dir)
        return identity

    def stage_key(self, modality: str) -> str:
        """Names a stage's folder: same inputs, settings and psymodal version share the work."""
        return settings_key(__version__, self._dataset_identity(), self.config[modality])

    def stage_dir(self, modality: str) -> Path:
        """``<results_dir>/<modality>-<key>``: a BIDS-Derivatives folder shared between runs."""
        return self.results_dir / f"{modality}-{self.stage_key(modality)}"

    def default_run_label(self) -> str:
        """Hash of the effective config and psymodal's version (see :func:`run_label_of`)."""
        return _default_run_label(self.config)

    @property
    def run_dir(self) -> Path:
        return self.results_dir / "runs" / self.run_label

    def write_run_config(self) -> Path:
        """Record the effective config in ``<run_dir>/provenance/config.yaml`` (sorted keys)."""
        return write_run_config(self.config)

    def check_run_is_not_overwritten(self) -> None:
        """Refuse to reuse the label of a finished run whose recorded config differs.

        A run is finished when its manifest is written (its last job); an unfinished run (it
        failed or was interrupted) does not hold its label: its jobs are rerun as needed.
        """
        import yaml

        recorded = self.run_dir / "provenance" / "config.yaml"
        if not (recorded.exists() and (self.run_dir / "provenance" / "manifest.json").exists()):
            return
        current = {k: v for k, v in self.config.items() if k not in NOT_IN_RUN_KEY}
        before = resolve_config(yaml.safe_load(recorded.read_text()) or {})
        before = {k: v for k, v in before.items() if k not in NOT_IN_RUN_KEY}
        if json.dumps(before, sort_keys=True) != json.dumps(current, sort_keys=True):
            raise ValueError(
                f"{self.run_dir} already holds a finished run made with another config "
                f"(see {recorded}). Choose a new run_label, or leave run_label unset so that "
                "one is derived from the config, or delete that folder on purpose."
            )

    def _subject_ids(self) -> list[str]:
        """participant_id values, read once per participants table (Snakemake asks for a
        batch's subjects several times per job: recomputing them made planning quadratic)."""
        cached = self.__dict__.get("_subject_ids_cache")
        if cached is None or cached[0] is not self.participants:
            cached = (self.participants, [row["participant_id"] for row in self.participants])
            self.__dict__["_subject_ids_cache"] = cached
        return cached[1]

    def _rows_by_id(self) -> dict[str, dict]:
        cached = self.__dict__.get("_rows_cache")
        if cached is None or cached[0] is not self.participants:
            cached = (self.participants, {r["participant_id"]: r for r in self.participants})
            self.__dict__["_rows_cache"] = cached
        return cached[1]

    @property
    def subjects(self) -> list[str]:
        return list(self._subject_ids())

    def batches(self) -> list[list[str]]:
        """Subjects in fixed-size batches: one job per batch keeps process start-up small."""
        ids = self._subject_ids()
        return [ids[i : i + self.batch_size] for i in range(0, len(ids), self.batch_size)]

    def batch(self, index: int | str) -> list[str]:
        ids, i = self._subject_ids(), int(index)
        if not 0 <= i * self.batch_size < len(ids):
            raise IndexError(f"batch {index} out of range: {len(self.batches())} batches")
        return ids[i * self.batch_size : (i + 1) * self.batch_size]

    # ---- output names -------------------------------------------------------------------
    @property
    def mri_settings(self) -> dict:
        return self.config["mri"]

    @property
    def atlas_name(self) -> str:
        return atlas_name(self.mri_settings["atlas"])

    def stage_modalities(self, stage: str) -> list[str]:
        """The feature tables a stage writes: the MRI stage adds ``anat`` with fMRIPrep input.

        None for a stage skipped because the dataset holds none of its inputs
        (:attr:`skipped_stages`).
        """
        if stage in self.skipped_stages:
            return []
        return stage_modalities(self.config, stage)

    @functools.cached_property
    def skipped_stages(self) -> dict[str, str]:
        """Enabled stages left out because a BIDS dataset holds none of their inputs, with the
        line that says so (a speech-only or an MRI-only study needs no hand edit).

        Only when the dataset holds inputs of another stage: a dataset without any is left
        to its jobs, which give each subject a QC row saying what was looked for.
        """
        if self.source != "bids":
            return {}
        enabled = [s for s in STAGES if self.config[s]["enabled"]]
        where = {s: self._first_input(s) for s in enabled}
        if not any(found for found, _ in where.values()):
            return {}
        return {
            stage: (
                f"psymodal: {stage} is enabled but the dataset holds no {looked_for}; the "
                f"{stage} stage is skipped (set {stage}.enabled: false to silence this line)."
            )
            for stage, (found, looked_for) in where.items()
            if not found
        }

    def _first_input(self, stage: str) -> tuple[bool, str]:
        """Whether the dataset holds at least one input of ``stage``, and what was looked for."""
        if stage == "speech":
            task = self.config["speech"]["task"]
            glob = f"*_task-{task}_*audio.*" if task else "*_audio.*"
            base, folder = self.bids_dir, "audio"
            what = f"recording ({base}/sub-*/[ses-*/]audio/{glob})"
        elif stage == "language":
            # a transcript, or a recording to recognise: both match *_task-<task>_*
            task = self.config["language"]["task"]
            glob = f"*_task-{task}_*" if task else "*_task-*"
            base, folder = self.bids_dir, "audio"
            what = f"transcript or recording ({base}/sub-*/[ses-*/]audio/{glob})"
        else:
            task = self.mri_settings["task"]
            if self.mri_input == "raw":
                base, folder, glob = self.bids_dir, "func", f"*_task-{task}_*bold.nii*"
            else:
                base, folder = self.fmriprep_dir, "func"
                glob = f"*_task-{task}_*desc-preproc_bold.nii*"
            what = f"BOLD run ({base}/sub-*/[ses-*/]{folder}/{glob})"
        for pattern in (f"sub-*/{folder}/{glob}", f"sub-*/ses-*/{folder}/{glob}"):
            if next(iter(base.glob(pattern)), None) is not None:
                return True, what
        return False, what

    @property
    def stages(self) -> list[str]:
        return [s for s in STAGES if self.stage_modalities(s)]

    @property
    def modalities(self) -> list[str]:
        return [m for stage in STAGES for m in self.stage_modalities(stage)]

    def group_table(self, modality: str, kind: str) -> Path:
        return stage_tables.group_table(self.stage_dir(MODALITY_STAGE[modality]), modality, kind)

    def batch_table(self, modality: str, batch: int | str, kind: str) -> Path:
        folder = stage_tables.batch_dir(self.stage_dir(MODALITY_STAGE[modality]))
        return stage_tables.batch_table(folder, modality, batch, kind)

    # ---- inputs for real datasets -----------------------------------------------------------
    def subject_inputs(self, subjects: list[str], modality: str) -> list[Path]:
        """The files a batch reads, so that Snakemake reruns a batch when one changes."""
        files: list[Path] = [self.participants_source]
        if modality == "mri" and self.mri_input == "timeseries":
            from psymodal.mri.timeseries_layout import find_timeseries_files, subject_fields

            rows = self._rows_by_id()
            pattern = self.config["dataset"]["timeseries_pattern"]
            atlas = self.mri_settings["timeseries"]["atlas_name"]
            for subject in subjects:
                fields = subject_fields(subject, rows.get(subject), atlas)
                files.extend(find_timeseries_files(self.timeseries_dir, pattern, fields))
            return files
        # (folder or None for any, glob of the name after the subject) under each subject's
        # folder: the same files as sorted(root.glob(f"**/[folder/]{subject}{glob}")) per pattern
        # BOLD JSON sidecars (the TR), raw ones too: fMRIPrep's derivative may lack one
        raw_sidecars = [("func", f"*_task-{self.mri_settings['task']}*_bold.json")]
        extra: list[tuple[Path, list]] = []
        if modality == "mri" and self.mri_input == "raw":
            task = self.mri_settings["task"]
            base, patterns = self.bids_dir, [("func", f"*_task-{task}*_bold.nii*"), *raw_sidecars]
            files.extend(self._inherited_sidecars())
        elif modality == "mri":
            task, space = self.mri_settings["task"], self.mri_settings["space"]
            base = self.fmriprep_dir
            patterns = [
                (None, f"*_task-{task}*_desc-preproc_bold.nii*"),
                (None, f"*_task-{task}*_desc-confounds_timeseries.tsv"),
                (None, f"*_task-{task}*_desc-confounds_timeseries.json"),
                (None, f"*_task-{task}*_desc-preproc_bold.json"),
                (None, f"*_task-{task}*_desc-brain_mask.nii*"),
            ]
            if self.config["mri"]["anat"]["enabled"]:
                patterns += [
                    ("anat", f"*_space-{space}*_label-GM_probseg.nii*"),
                    ("anat", "*_desc-brain_mask.nii*"),
                ]
            extra.append((self.bids_dir, raw_sidecars))
            files.extend(self._inherited_sidecars())
        elif modality == "language":
            task = self.config["language"]["task"]
            tag = f"_task-{task}" if task else ""
            base = self.bids_dir
            patterns = [("audio", f"*{tag}*_transcript.*"), ("audio", f"*{tag}*_audio.*")]
        else:
            task = self.config["speech"]["task"]
            tag = f"_task-{task}" if task else ""
            base, patterns = self.bids_dir, [("audio", f"*{tag}*_audio.*")]
        for subject in subjects:
            files.extend(_subject_files(base / subject, subject, patterns))
            for other, other_patterns in extra:
                files.extend(_subject_files(other / subject, subject, other_patterns))
        # a FIFO, a device or a dangling link is not tracked (Snakemake would refuse to plan
        # the study): the job reports it in the subject's QC row
        return [f for f in files if f == self.participants_source or is_regular_file(f)]

    def _inherited_sidecars(self) -> list[Path]:
        """Top-level BOLD sidecars of the task (BIDS inheritance): they may give the TR."""
        task = self.mri_settings["task"]
        return sorted(
            p for p in self.bids_dir.glob(f"*task-{task}*_bold.json") if is_regular_file(p)
        )


def _subject_files(root: Path, subject: str, patterns: list[tuple[str | None, str]]) -> list[Path]:
    """One walk of a subject's folder for several ``**/[folder/]<subject><glob>`` patterns.

    Equivalent to ``sorted(root.glob(...))`` per pattern, but one ``os.walk`` instead of one
    recursive glob per pattern, and each glob compiled once instead of once per subject: the
    dry run of a 5,000-subject study spent most of its time here.
    """
    compiled = [(folder, _compiled_glob(glob)) for folder, glob in patterns]
    found: list[list[Path]] = [[] for _ in patterns]
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        folder = here.name if here != root else None
        for name in filenames:
            if not name.startswith(subject):
                continue
            rest = name[len(subject) :]
            for matches, (want, regex) in zip(found, compiled, strict=True):
                if (want is None or want == folder) and regex.match(rest):
                    matches.append(here / name)
    return [path for matches in found for path in sorted(matches)]


@functools.lru_cache(maxsize=256)
def _compiled_glob(glob: str) -> re.Pattern:
    return re.compile(fnmatch.translate(glob))
