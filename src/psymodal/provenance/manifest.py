"""Provenance of a results folder: what code, data, settings and software produced it.

Two records are written:

``dataset_description.json``
    BIDS-Derivatives: ``GeneratedBy`` names psymodal, its version, where its code lives and the
    git commit of the checkout that ran (when known).
``provenance/manifest.json`` (with ``provenance/config.yaml``)
    Every output file with its SHA-256 checksum and size, every input file with its checksum,
    the effective configuration, the seeds, the psymodal version and git state, the versions of
    the scientific packages and the platform. ``psymodal audit`` checks a results folder against
    it. Apart from the ``time`` section (start and end of the run) the manifest is a function of
    the files, the configuration and the environment: writing it twice gives the same bytes.

Paths in the manifest are relative (outputs to the results folder; inputs to the working
directory the workflow ran in, when they lie inside it), so that a results folder can be moved
and still audited.

Next to the manifest, ``provenance/manifest.sha256`` holds the **run digest**
(:func:`run_digest`: SHA-256 of the manifest's canonical JSON bytes), which
``psymodal manifest`` and the workflow print at the end of a run. A forger who edits a result
can also edit the manifest and that file; the digest becomes tamper evidence once the lab has
copied it into its own records (``psymodal audit --expect sha256:...``), or when the manifest
is signed (``psymodal sign``, :mod:`psymodal.provenance.integrity`).

Job logs are recorded (``logs``, checksummed like outputs) except those written by the jobs
that run with or after the manifest (:data:`LATE_LOGS`). Temporary files (an interrupted
atomic write's ``.<name>.<random>.tmp<suffix>``, any ``*.tmp``) are never recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from psymodal import __version__
from psymodal.io.tables import atomic_write, write_json
from psymodal.learn.paths import run_file
from psymodal.settings.record import plain_config, write_config_yaml

CODE_URL = "https://github.com/psymodal/psymodal"
BIDS_VERSION = "1.10.0"

#: Version of the manifest layout; ``audit`` refuses manifests it does not know.
MANIFEST_SCHEMA = "psymodal-manifest/1"
#: Folder of the results directory holding the manifest and the effective configuration.
PROVENANCE_DIR = "provenance"
MANIFEST_NAME = "manifest.json"
CONFIG_NAME = "config.yaml"
#: The run digest (``sha256:<hex>``) and the manifest's OpenSSH signature, beside the manifest.
DIGEST_NAME = "manifest.sha256"
SIGNATURE_NAME = "manifest.json.sig"
#: Files of ``provenance/`` that describe the outputs and are not outputs themselves.
RECORD_NAMES = (MANIFEST_NAME, DIGEST_NAME, SIGNATURE_NAME)
#: The job-log folder at the top of a run or stage folder (recorded in the ``logs`` section).
LOGS_DIR = "logs"
#: Top-level entries of a results folder that are not outputs: job logs (recorded apart, in
#: ``logs``) and Snakemake's bookkeeping.
EXCLUDED_DIRS = (LOGS_DIR, ".snakemake")
#: Logs of the jobs that run while the manifest is written or after it (the manifest job's
#: own, the LATEST pointer's, ``snakemake audit``'s): never recorded, never reported as extra.
LATE_LOGS = ("manifest.log", "point_latest.log", "audit.log")
#: An interrupted atomic write's temporary name (``psymodal.io.tables.atomic_path``:
#: ``.<name>.<random>.tmp<suffixes>``) or any ``*.tmp`` file.
TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp(\..*)?$|\.tmp$")
#: Distributions whose versions are recorded (read from package metadata, nothing imported).
TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "nibabel",
    "nilearn",
    "librosa",
    "numba",
    "soundfile",
    "soxr",
    "torch",
    "scikit-learn",
    "matplotlib",
    "snakemake",
    # the language stage: recogniser and its shipped model, embeddings, word frequencies
    "pocketsphinx",
    "wordllama",
    "tokenizers",
    "wordfreq",
)
_CHUNK = 1 << 20


def git_state(path: Path | None = None) -> dict:
    """Commit and dirty flag of the git checkout holding ``path`` (psymodal's source by default).

    Parameters
    ----------
    path : Path, optional
        A file or folder inside the checkout; psymodal's own source folder by default.

    Returns
    -------
    dict
        ``{"commit": str, "dirty": bool}``; empty when psymodal was installed from a wheel
        (no checkout) or git is unavailable. Untracked files do not make a checkout dirty.
    """
    path = Path(path or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"commit": commit, "dirty": bool(status.strip())}


def dataset_description() -> dict:
    """The BIDS-Derivatives ``dataset_description.json`` content for a psymodal results folder.

    Returns
    -------
    dict
        ``Name``, ``BIDSVersion``, ``DatasetType`` and ``GeneratedBy`` (psymodal, its version,
        code URL and, in a git checkout, the commit with a ``-dirty`` suffix when modified).
    """
    generated_by = {"Name": "psymodal", "Version": __version__, "CodeURL": CODE_URL}
    state = git_state()
    if state:
        generated_by["Commit"] = state["commit"] + ("-dirty" if state["dirty"] else "")
    return {
        "Name": "psymodal derivatives",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [generated_by],
    }


def write_dataset_description(results_dir) -> Path:
    """Write :func:`dataset_description` to ``<results_dir>/dataset_description.json``.

    Parameters
    ----------
    results_dir : path-like

    Returns
    -------
    Path
        The written file.
    """
    return write_json(dataset_description(), Path(results_dir) / "dataset_description.json")


# ---- checksums ----------------------------------------------------------------------------
def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 checksum of a file, as 64 hexadecimal digits.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: str | os.PathLike, name: str) -> dict:
    """Checksum entry of one file.

    Parameters
    ----------
    path : path-like
        The file to read.
    name : str
        The path written in the manifest (relative, POSIX separators).

    Returns
    -------
    dict
        ``{"path": name, "sha256": ..., "size": bytes}``.
    """
    return {"path": name, "sha256": sha256_file(path), "size": Path(path).stat().st_size}


def is_temporary(name: str) -> bool:
    """Whether a file name is a temporary file's (:data:`TEMPORARY`): never an output."""
    return bool(TEMPORARY.search(Path(name).name))


def _walk_files(top: Path, prune_top: tuple[str, ...]) -> list[Path]:
    """Files under ``top`` (not entering ``prune_top`` folders at its top), temporaries left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        if here == top:
            dirnames[:] = [d for d in dirnames if d not in prune_top]
        found += [here / f for f in filenames if not is_temporary(f)]
    return found


def temporary_files(results_dir: str | os.PathLike, folders: Iterable[str] = (".",)) -> list[str]:
    """Relative paths of the temporary files (:func:`is_temporary`) in ``folders``, sorted."""
    root = Path(results_dir)
    names = set()
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(root / folder):
            dirnames[:] = [d for d in dirnames if d != ".snakemake"]
            names.update(
                (Path(dirpath) / f).relative_to(root).as_posix()
                for f in filenames
                if is_temporary(f)
            )
    return sorted(names)


def log_files(results_dir: str | os.PathLike, folders: Iterable[str] = (".",)) -> list[str]:
    """Relative POSIX paths of the job logs (``<folder>/logs/``) of ``folders``, sorted.

    Logs written with or after the manifest (:data:`LATE_LOGS`) and temporary files are left
    out.
    """
    root = Path(results_dir)
    names = set()
    for folder in folders:
        top = root / folder / LOGS_DIR
        for path in _walk_files(top, ()):
            if path.parent == top and path.name in LATE_LOGS:
                continue
            names.add(path.relative_to(root).as_posix())
    return sorted(names)


def output_files(results_dir: str | os.PathLike, folders: Iterable[str] = (".",)) -> list[str]:
    """Relative POSIX paths of the outputs in ``folders`` of ``results_dir``, sorted.

    Everything is an output except the manifest and its digest and signature
    (``provenance/manifest.json``, :data:`RECORD_NAMES`), the job logs (a ``logs/`` folder at
    the top of each folder: :func:`log_files`), Snakemake's bookkeeping (``.snakemake/``) and
    temporary files (:func:`is_temporary`).

    Parameters
    ----------
    results_dir : path-like
        The root the returned paths are relative to.
    folders : iterable of str
        Folders to walk, relative to ``results_dir`` (``"."``: all of it).

    Returns
    -------
    list of str
    """
    root = Path(results_dir)
    records = {f"{PROVENANCE_DIR}/{name}" for name in RECORD_NAMES}
    names = set()
    for folder in folders:
        top = root / folder
        for path in _walk_files(top, EXCLUDED_DIRS):
            if path.relative_to(top).as_posix() not in records:
                names.add(path.relative_to(root).as_posix())
    return sorted(names)


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named by ``paths``: files as they are, folders by their files (recursively)."""
    files: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            files.add(path)
        else:
            raise FileNotFoundError(f"input {path} does not exist")
    return sorted(files)


def _display_path(path: Path, workdir: Path) -> str:
    """``path`` relative to ``workdir`` when inside it, else absolute (POSIX separators)."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(workdir).as_posix()
    except ValueError:
        return absolute.as_posix()


# ---- environment --------------------------------------------------------------------------
def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` from package metadata (no module is imported).

    Parameters
    ----------
    names : iterable of str
        Distribution names (``scikit-learn``, not ``sklearn``).

    Returns
    -------
    dict
        Name -> version, ``None`` for a package that is not installed.
    """
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return dict(sorted(versions.items()))


def platform_info() -> dict:
    """The interpreter and operating system: Python version and implementation, OS, machine.

    Returns
    -------
    dict
        ``python``, ``implementation``, ``system``, ``release`` and ``machine``.
    """
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
    }


def environment() -> dict:
    """psymodal's version and git state, the tracked package versions and the platform.

    Returns
    -------
    dict
        ``{"psymodal": {...}, "packages": {...}, "platform": {...}}``; ``psymodal`` holds
        ``version`` and, in a git checkout, ``commit`` and ``dirty``.
    """
    return {
        "psymodal": {"version": __version__, **git_state()},
        "packages": package_versions(),
        "platform": platform_info(),
    }


# ---- configuration ------------------------------------------------------------------------


def config_seeds(config: Mapping, prefix: str = "") -> dict[str, int]:
    """Every seed in a configuration, by dotted key (``learn.cv.seed``: 0).

    Keys named ``seed``, ending in ``_seed`` or named ``random_state`` count as seeds.

    Parameters
    ----------
    config : mapping
    prefix : str
        Dotted path of ``config`` inside the whole configuration.

    Returns
    -------
    dict
        Sorted by key.
    """
    seeds = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            seeds.update(config_seeds(value, dotted + "."))
        elif (key == "seed" or str(key).endswith("_seed") or key == "random_state") and (
            value is not None
        ):
            seeds[dotted] = value
    return dict(sorted(seeds.items()))


def run_seeds(config: Mapping, run_dir: str | os.PathLike | None = None) -> dict:
    """The seeds of a run: the configuration's, and those the learning stage actually used.

    The learning stage fills its defaults itself and records the resolved settings in
    ``<run_dir>/learn/run_info.json``; seeds found there (``learn.permutation.seed``...) are
    added to :func:`config_seeds`.

    Parameters
    ----------
    config : mapping
    run_dir : path-like, optional
        The run folder.

    Returns
    -------
    dict
        Sorted by dotted key.
    """
    seeds = config_seeds(config)
    info = run_file(run_dir, "run_info") if run_dir is not None else None
    if info is not None and info.is_file():
        settings = json.loads(info.read_text()).get("settings")
        if isinstance(settings, Mapping):
            seeds.update(config_seeds({"learn": settings}))
    return dict(sorted(seeds.items()))


def study_inputs(config: Mapping, plan=None) -> list[Path]:
    """The input files of the study a configuration describes.

    For the demo study, the generated dataset folder (all of it); for a BIDS dataset,
    ``participants.tsv``, ``dataset_description.json`` (when present), the files every
    enabled modality reads for every participant, and a custom atlas (``mri.atlas.path``).

    Parameters
    ----------
    config : mapping
        The workflow configuration.
    plan : psymodal.workflow_plan.StudyPlan, optional
        The plan of ``config``, when already built (the Snakefile's ``PLAN``).

    Returns
    -------
    list of Path
        Files and folders (folders are expanded by :func:`write_manifest`).
    """
    if plan is None:
        from psymodal.settings import resolve_config

        dataset = resolve_config(dict(config))["dataset"]
        if dataset["source"] == "demo":  # no plan needed (planning the demo imports pandas)
            return [Path(dataset["bids_dir"])]
        from psymodal.workflow.plan import StudyPlan

        plan = StudyPlan.from_config(dict(config))
    if plan.is_demo:
        return [plan.bids_dir]
    inputs = [plan.participants_source]
    description = plan.bids_dir / "dataset_description.json"
    if description.exists():
        inputs.append(description)
    for modality in plan.modalities:
        inputs.extend(plan.subject_inputs(plan.subjects, modality))
    atlas = plan.config["mri"]["atlas"]["path"]
    if atlas and "mri" in plan.modalities:
        inputs.append(Path(atlas))
    return sorted(set(inputs))


def now_iso() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def earliest_log_time(folder: str | os.PathLike) -> str | None:
    """Approximate start of a run: the oldest modification time among its job logs.

    A job's log is created when the job starts; logs that stay empty keep that time.

    Parameters
    ----------
    folder : path-like
        The run folder (its ``logs/`` is read).

    Returns
    -------
    str or None
        ISO 8601 UTC time, ``None`` without logs.
    """
    logs = [p for p in (Path(folder) / "logs").rglob("*") if p.is_file()]
    if not logs:
        return None
    first = min(p.stat().st_mtime for p in logs)
    return datetime.fromtimestamp(first, UTC).isoformat(timespec="seconds")


# ---- manifest -----------------------------------------------------------------------------
def _inside(path: str | os.PathLike, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX); ValueError when it lies outside."""
    rel = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root)))
    if rel.parts and rel.parts[0] == "..":
        raise ValueError(f"{path} is not inside the results folder {root}")
    return rel.as_posix()


def layout_of(
    results_dir: str | os.PathLike,
    run_dir: str | os.PathLike | None = None,
    stage_dirs: Mapping[str, str | os.PathLike] | None = None,
) -> dict:
    """The folders of one run, relative to the results folder.

    Parameters
    ----------
    results_dir : path-like
    run_dir : path-like, optional
        The run's own folder (``<results_dir>/runs/<label>``); ``results_dir`` itself when
        not given (a flat results folder).
    stage_dirs : mapping of str to path-like, optional
        Modality -> the stage folder the run used (``<results_dir>/mri-<key>``).

    Returns
    -------
    dict
        ``{"run_dir": str, "stage_dirs": {modality: str}}``; ``"."`` is ``results_dir``.
    """
    root = Path(results_dir)
    return {
        "run_dir": _inside(run_dir if run_dir is not None else root, root),
        "stage_dirs": {m: _inside(d, root) for m, d in sorted((stage_dirs or {}).items())},
    }


def layout_folders(layout: Mapping) -> list[str]:
    """The folders a manifest covers: the run folder and its stage folders (no repeats)."""
    folders = [layout["run_dir"], *layout["stage_dirs"].values()]
    if "." in folders:
        return ["."]
    return sorted(set(folders))


def manifest_path(results_dir: str | os.PathLike, run_dir: str | os.PathLike | None = None) -> Path:
    """``<run_dir>/provenance/manifest.json`` (``run_dir`` defaults to ``results_dir``)."""
    return Path(run_dir if run_dir is not None else results_dir) / PROVENANCE_DIR / MANIFEST_NAME


def build_manifest(
    results_dir: str | os.PathLike,
    config: Mapping,
    inputs: Iterable[str | os.PathLike],
    seeds: Mapping | None = None,
    started: str | None = None,
    ended: str | None = None,
    *,
    run_dir: str | os.PathLike | None = None,
    stage_dirs: Mapping[str, str | os.PathLike] | None = None,
    workdir: str | os.PathLike | None = None,
) -> dict:
    """The manifest of a run as a dictionary (see :func:`write_manifest`).

    Parameters
    ----------
    results_dir, config, inputs, seeds, started, ended, run_dir, stage_dirs
        As in :func:`write_manifest`.
    workdir : path-like, optional
        The folder the workflow ran in (relative input paths are relative to it); the
        current directory by default.

    Returns
    -------
    dict
    """
    results_dir = Path(results_dir)
    workdir = Path(os.path.abspath(workdir or os.getcwd()))
    layout = layout_of(results_dir, run_dir, stage_dirs)
    folders = layout_folders(layout)
    outputs = [file_record(results_dir / n, n) for n in output_files(results_dir, folders)]
    logs = [file_record(results_dir / n, n) for n in log_files(results_dir, folders)]
    input_records = [file_record(p, _display_path(p, workdir)) for p in expand_paths(inputs)]
    return {
        "schema": MANIFEST_SCHEMA,
        "results_dir": _display_path(results_dir, workdir),
        "layout": layout,
        "config": plain_config(config),
        "seeds": plain_config(
            seeds if seeds is not None else run_seeds(config, run_dir or results_dir)
        ),
        "inputs": sorted(input_records, key=lambda r: r["path"]),
        "outputs": outputs,
        "logs": logs,
        **environment(),
        # the only fields that change when nothing else does; audit ignores them
        "time": {"started": started, "ended": ended},
    }


def write_manifest(
    results_dir: str | os.PathLike,
    config: Mapping,
    inputs: list[Path],
    seeds: Mapping | None = None,
    started: str | None = None,
    ended: str | None = None,
    *,
    run_dir: str | os.PathLike | None = None,
    stage_dirs: Mapping[str, str | os.PathLike] | None = None,
) -> Path:
    """Write ``provenance/manifest.json`` and ``provenance/config.yaml`` for a run.

    The configuration is written first (or left alone when the same text is there), so that
    it is itself one of the checksummed outputs.

    Parameters
    ----------
    results_dir : path-like
        The results folder (``results_dir`` of the config). Output paths in the manifest are
        relative to it.
    config : mapping
        The effective workflow configuration (after defaults and overrides).
    inputs : list of path-like
        Input files or folders (a folder stands for all its files); see :func:`study_inputs`.
        Paths inside the current directory are recorded relative to it.
    seeds : mapping, optional
        Seeds by name; by default those of ``config`` and of the learning stage's recorded
        settings (:func:`run_seeds`).
    started, ended : str, optional
        Start and end of the run (ISO 8601), kept in the ``time`` section.
    run_dir : path-like, optional
        The run's folder inside ``results_dir`` (versioned layout: ``runs/<label>``); the
        manifest goes to its ``provenance/``. Default: ``results_dir`` itself, all of which
        is then recorded.
    stage_dirs : mapping of str to path-like, optional
        Modality -> stage folder inside ``results_dir`` that the run used (versioned layout:
        ``mri-<key>``); recorded with the run folder. Other runs and stage folders are not.

    Returns
    -------
    Path
        The manifest.

    Raises
    ------
    ValueError
        When ``run_dir`` is given and its ``provenance/config.yaml`` records another
        configuration than ``config`` (a flat folder's copy is replaced).

    Notes
    -----
    Manifest keys (written sorted, lists sorted by path):

    ``schema``
        :data:`MANIFEST_SCHEMA`.
    ``results_dir``
        The results folder, relative to the working directory when inside it.
    ``layout``
        ``run_dir`` and ``stage_dirs``, relative to the results folder (``"."``: itself).
    ``outputs``, ``inputs``
        ``[{"path", "sha256", "size"}]``; outputs relative to the results folder, every file
        of the run folder and stage folders except manifests, ``logs/``, ``.snakemake/`` and
        temporary files.
    ``logs``
        The job logs of those folders (``logs/``), as outputs are recorded, except
        :data:`LATE_LOGS`.
    ``config``, ``seeds``
        Effective configuration and its seeds.
    ``psymodal``, ``packages``, ``platform``
        Version and git state (``commit``, ``dirty``), package versions, interpreter and OS.
    ``time``
        ``started`` and ``ended``: the only fields that differ between two manifests of the
        same files.
    """
    results_dir = Path(results_dir)
    run = Path(run_dir) if run_dir is not None else results_dir
    # a run folder of the versioned layout already records its configuration: it must agree
    write_config_yaml(config, run / PROVENANCE_DIR / CONFIG_NAME, overwrite=run_dir is None)
    manifest = build_manifest(
        results_dir,
        config,
        inputs,
        seeds,
        started,
        ended,
        run_dir=run_dir,
        stage_dirs=stage_dirs,
    )
    path = write_json(manifest, manifest_path(results_dir, run))
    write_digest(path)
    return path


# ---- run digest ---------------------------------------------------------------------------
def canonical_bytes(manifest: Mapping) -> bytes:
    """The manifest as canonical JSON: sorted keys, no whitespace, UTF-8.

    Two manifests with the same content have the same canonical bytes, however their files
    are indented.
    """
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def run_digest(manifest: Mapping) -> str:
    """The run digest: ``sha256:`` and the SHA-256 of :func:`canonical_bytes` (time included).

    Parameters
    ----------
    manifest : mapping
        A manifest as read (:func:`read_manifest`) or built (:func:`build_manifest`).

    Returns
    -------
    str
    """
    return "sha256:" + hashlib.sha256(canonical_bytes(manifest)).hexdigest()


def digest_path(manifest_file: str | os.PathLike) -> Path:
    """``provenance/manifest.sha256`` beside a manifest file."""
    return Path(manifest_file).with_name(DIGEST_NAME)


def write_digest(manifest_file: str | os.PathLike) -> str:
    """Write the run digest of ``manifest_file`` beside it (:data:`DIGEST_NAME`); return it."""
    digest = run_digest(_load(Path(manifest_file)))
    atomic_write(digest_path(manifest_file), lambda tmp: tmp.write_text(digest + "\n"))
    return digest


class DamagedManifestError(ValueError):
    """A manifest file that cannot be read as JSON (truncated, edited by hand...).

    Attributes
    ----------
    path : Path
        The manifest file.
    """

    def __init__(self, path: Path, reason: str):
        self.path = Path(path)
        super().__init__(f"{path} is damaged and cannot be read as a manifest: {reason}")


def _load(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DamagedManifestError(path, f"not UTF-8 text ({error})") from None
    except json.JSONDecodeError as error:
        raise DamagedManifestError(path, f"invalid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        raise ValueError(f"{path} is not a {MANIFEST_SCHEMA} manifest")
    if not isinstance(manifest.get("outputs"), list) or not isinstance(
        manifest.get("results_dir", ""), str
    ):
        raise DamagedManifestError(path, "no list of outputs")
    manifest.setdefault("layout", {"run_dir": ".", "stage_dirs": {}})
    return manifest


def find_manifest(path: str | os.PathLike) -> tuple[Path, Path]:
    """The manifest of a run and its results folder.

    Parameters
    ----------
    path : path-like
        A run folder (``results/runs/<label>``, ``results/latest``), a flat results folder,
        a results folder with a ``LATEST`` pointer (its newest run), or a manifest file.

    Returns
    -------
    manifest_file : Path
    results_dir : Path
        The folder the manifest's output paths are relative to (symbolic links resolved).

    Raises
    ------
    FileNotFoundError
        When there is no manifest.
    ValueError
        When the file is not a psymodal manifest of a known schema.
    """
    path = Path(path)
    if path.is_file():
        candidate = path
    elif not manifest_path(path).exists() and (path / "LATEST").is_file():
        candidate = manifest_path(path / "runs" / (path / "LATEST").read_text().strip())
    else:
        candidate = manifest_path(path)
    if not candidate.is_file():
        raise FileNotFoundError(
            f"{candidate} not found: the workflow writes it at the end of a run "
            "(or write it with `psymodal manifest RESULTS_DIR --config ...`)"
        )
    run_dir = Path(os.path.realpath(candidate)).parents[1]
    # the run folder is <results_dir>/<layout.run_dir>: strip those names
    depth = len(Path(_load(candidate)["layout"]["run_dir"]).parts)
    return candidate, run_dir.parents[depth - 1] if depth else run_dir


def read_manifest(path: str | os.PathLike) -> dict:
    """Read a manifest (a file, or any folder :func:`find_manifest` accepts).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        When there is no manifest.
    ValueError
        When the file is not a psymodal manifest of a known schema.
    """
    return _load(find_manifest(path)[0])


def without_time(manifest: Mapping) -> dict:
    """The manifest without its ``time`` section: what must agree between reruns."""
    return {k: v for k, v in manifest.items() if k != "time"}
