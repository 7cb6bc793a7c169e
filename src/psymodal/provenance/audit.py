"""Audit a results folder against its provenance manifest (``psymodal audit``).

Each check prints one PASS, WARN, FAIL or SKIP line. What each level proves:

``outputs``, ``logs``
    Is every file (and job log) the manifest lists still there, unchanged (SHA-256), and is
    nothing else there? Missing, modified and extra files are named. (FAIL when any; leftover
    temporary files are named with a WARN.) This catches accidental change only: a forger who
    edits a result can update its checksum in the manifest too.
``inputs``
    Are the recorded input files still where the run read them, unchanged? (FAIL when one was
    modified; WARN when they are not available here, for example a results folder copied
    without its data.)
``code`` and ``environment``
    Is this the same psymodal version and git commit, and are the scientific packages and the
    platform the recorded ones? Every difference is named. (WARN: the stored results are not
    wrong because the environment changed, but a rerun may not reproduce them; ``strict``
    turns warnings into failures.)
``digest`` and ``signature``
    Is the manifest the one the run wrote? ``expect`` compares its run digest with the one the
    lab recorded when the run ended; a signature (``psymodal sign``) is verified against the
    lab's allowed-signers file (:mod:`psymodal.provenance.integrity`). Without either, the
    audit says so: "integrity against accidental change only" (WARN).
``recompute``
    Do ``learn/metrics.tsv`` and ``learn/calibration.tsv`` follow from the stored out-of-fold
    predictions and permutation null? Recomputed with the learning stage's own
    :func:`~psymodal.learn.cross_validation.summarize` (:mod:`psymodal.provenance.recompute`);
    seconds, no model is fitted.
``relearn`` (optional)
    Does the learning stage, re-run from the stored group feature tables (the ``learn`` rule's
    command, :func:`psymodal.workflow.commands.learn_command`), write the same predictions,
    metrics and other learning files? Compared with the files on disk and with the manifest.
``rerun`` (optional)
    Does re-executing the run in a temporary folder re-produce the files byte for byte?
    Either the whole workflow (Snakemake with the recorded ``provenance/config.yaml`` on the
    same inputs, or a regenerated demo study) or, with ``subjects``, the atlas and the
    per-subject MRI and speech stages for a random sample of participants
    (:mod:`psymodal.provenance.sampling`: the seed is reported; with ``k`` forged subjects
    among ``n``, a sample of ``N`` finds one with probability ``1 - C(n-k, N) / C(n, N)``),
    through the same ``psymodal`` sub-commands the workflow's rules call. The re-produced
    files are compared with the manifest *and* with the files on disk; both kinds of
    disagreement are named.

The audit passes when no check fails. A manifest that cannot be read (truncated, not JSON)
fails the audit with its path named.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psymodal
from psymodal.provenance import integrity, sampling
from psymodal.provenance import manifest as prov
from psymodal.settings import resolve_config
from psymodal.settings.record import write_config_yaml

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
#: Detail kinds that describe a check rather than report a problem.
INFO_KINDS = ("note", "sample")
#: How each check works, for the text report (``--report``).
METHODS = {
    "manifest": "read provenance/manifest.json as JSON of the known schema",
    "outputs": "SHA-256 of every file of the run and stage folders against the manifest; "
    "files the manifest does not list are extra. Catches accidental change; a forger can "
    "update the manifest too.",
    "inputs": "SHA-256 of every recorded input file, where the run read it",
    "code": "psymodal version and git commit against the recorded ones",
    "environment": "package versions and platform against the recorded ones",
    "logs": "SHA-256 of every recorded job log; logs the manifest does not list are extra",
    "digest": "SHA-256 of the manifest's canonical JSON (the run digest) against the digest "
    "given with --expect (the lab's record of the digest printed when the run ended)",
    "signature": "ssh-keygen -Y verify of provenance/manifest.json.sig (namespace "
    f"'{integrity.NAMESPACE}') against the given allowed-signers file and identity",
    "recompute": "learn/metrics.tsv and learn/calibration.tsv recomputed from "
    "learn/predictions.tsv and learn/permutation_null.tsv by the learning stage's own "
    "summarize(); numbers agree when equal as written or within 1e-9 relative (the tables "
    "store 10 significant digits)",
    "relearn": "the learning stage re-run from the stored group feature tables with the "
    "recorded settings (the learn rule's command) in a temporary folder; every learning file "
    "compared byte for byte with the files on disk and with the manifest",
    "rerun": "the workflow (or the per-subject stages of a random sample of subjects) re-run "
    "in a temporary folder; every re-produced file compared byte for byte with the manifest "
    "and with the files on disk",
}
#: Names listed per kind of difference in the text report (the JSON report lists all).
MAX_LISTED = 20
_SUBJECT = re.compile(r"^sub-[^/]+$")


@dataclass
class Check:
    """The result of one audit check.

    Parameters
    ----------
    name : str
        ``outputs``, ``inputs``, ``code``, ``environment`` or ``rerun``.
    status : str
        ``PASS``, ``WARN``, ``FAIL`` or ``SKIP``.
    summary : str
        One line saying what was checked and found.
    details : dict of str to list of str
        What differs, by kind (``modified``, ``missing``, ``extra``, ``package``...).
    """

    name: str
    status: str
    summary: str
    details: dict[str, list[str]] = field(default_factory=dict)

    def lines(self, limit: int | None = MAX_LISTED) -> list[str]:
        """The check as text: a status line, then one indented line per difference."""
        out = [f"{self.status} {self.name}: {self.summary}"]
        for kind, items in self.details.items():
            shown = items if limit is None else items[:limit]
            out.extend(f"    {kind}: {item}" for item in shown)
            if len(items) > len(shown):
                out.append(f"    ... and {len(items) - len(shown)} more {kind}")
        return out

    def to_dict(self) -> dict:
        """The check as JSON-ready types."""
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "details": self.details,
        }


@dataclass
class AuditReport:
    """All checks of one audit.

    Parameters
    ----------
    results_dir : Path
        The audited folder, as given.
    manifest : Path, optional
        The manifest it was audited against.
    checks : list of Check
    strict : bool
        Whether warnings count as failures.
    rerun_dir : Path, optional
        The temporary folder of the rerun, when it was kept.
    """

    results_dir: Path
    manifest: Path | None = None
    checks: list[Check] = field(default_factory=list)
    strict: bool = False
    rerun_dir: Path | None = None
    info: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no check failed (and, when ``strict``, none warned)."""
        bad = {FAIL, WARN} if self.strict else {FAIL}
        return not any(c.status in bad for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when the audit passed, 1 otherwise."""
        return 0 if self.passed else 1

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError when it was not run)."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def lines(self) -> list[str]:
        """The report as text, ending with an ``AUDIT PASSED`` or ``AUDIT FAILED`` line."""
        out = [f"psymodal audit of {self.results_dir} (manifest: {self.manifest})"]
        for item in self.checks:
            out.extend(item.lines())
        if self.rerun_dir is not None:
            out.append(f"rerun folder kept: {self.rerun_dir}")
        failed = [c.name for c in self.checks if c.status == FAIL]
        warned = [c.name for c in self.checks if c.status == WARN]
        if self.passed:
            note = f" (warnings: {', '.join(warned)})" if warned else ""
            out.append(f"AUDIT PASSED{note}")
        else:
            out.append(f"AUDIT FAILED: {', '.join(failed + (warned if self.strict else []))}")
        return out

    def to_dict(self) -> dict:
        """The report as JSON-ready types."""
        return {
            "results_dir": str(self.results_dir),
            "manifest": None if self.manifest is None else str(self.manifest),
            "passed": self.passed,
            "strict": self.strict,
            "checks": [c.to_dict() for c in self.checks],
            "rerun_dir": None if self.rerun_dir is None else str(self.rerun_dir),
            "info": dict(self.info),
        }

    def document(self) -> str:
        """The report as a text document a reviewer can attach (``--report``).

        It says what was audited and with which options (expected digest, signature identity,
        rerun sample and seed), how each check works (:data:`METHODS`), every result with
        every difference, and the verdict.
        """
        verdict = self.lines()[-1]
        out = ["psymodal audit report", "=" * 21, ""]
        fields = {"results folder": self.results_dir, "manifest": self.manifest, **self.info}
        fields["verdict"] = verdict
        width = max(len(k) for k in fields) + 1
        out += [f"{k + ':':<{width}} {v}" for k, v in fields.items()] + [""]
        for item in self.checks:
            out.append(f"{item.name}")
            out.append("-" * len(item.name))
            out.append(f"how: {METHODS.get(item.name, '')}")
            out.extend(item.lines(limit=None))
            out.append("")
        out.append(
            "Levels: checksums (outputs, logs, inputs) catch accidental change only; the digest "
            "(against the lab's record) or a verified signature show the manifest is the one "
            "the run wrote; recompute shows the summary tables follow from the stored "
            "predictions; relearn and rerun show the predictions and per-subject files follow "
            "from the stored inputs with this code (rerun --subjects: for the sampled subjects "
            "only)."
        )
        return "\n".join(out) + "\n"


# ---- file checks --------------------------------------------------------------------------
def _differs(path: Path, record: Mapping) -> bool:
    """Whether ``path`` differs from its manifest record (size first: no hashing needed)."""
    return path.stat().st_size != record["size"] or prov.sha256_file(path) != record["sha256"]


def compare_files(
    records: list[Mapping],
    root: Path,
    present: list[str],
    rename: Callable[[str], str] | None = None,
) -> dict[str, list[str]]:
    """Compare files under ``root`` with manifest records.

    Parameters
    ----------
    records : list of mapping
        Manifest entries (``path``, ``sha256``, ``size``).
    root : Path
    present : list of str
        Relative paths of the files found under ``root``.
    rename : callable, optional
        Where a recorded path is expected under ``root`` (a rerun's run label and stage keys
        may differ from the recorded ones); unchanged by default.

    Returns
    -------
    dict
        ``modified``, ``missing`` (recorded names), ``extra`` (names under ``root``) and
        ``identical``, each sorted.
    """
    rename = rename or (lambda name: name)
    recorded = {r["path"]: r for r in records}
    expected = {rename(name): name for name in recorded}
    found = set(present)
    missing = sorted(name for new, name in expected.items() if new not in found)
    extra = sorted(found - set(expected))
    modified, identical = [], []
    for new in sorted(set(expected) & found):
        name = expected[new]
        (modified if _differs(root / new, recorded[name]) else identical).append(name)
    return {"modified": modified, "missing": missing, "extra": extra, "identical": identical}


def check_outputs(manifest: Mapping, results_dir: Path) -> Check:
    """Every output against its recorded checksum; missing, modified and extra files named.

    Only the run's folders are searched for extra files (``layout``: the run folder and its
    stage folders); other runs sharing the results folder are not this run's outputs.

    Parameters
    ----------
    manifest : mapping
    results_dir : Path
        The folder the manifest's paths are relative to.

    Returns
    -------
    Check
    """
    folders = prov.layout_folders(manifest["layout"])
    diff = compare_files(manifest["outputs"], results_dir, prov.output_files(results_dir, folders))
    n = len(manifest["outputs"])
    details = {k: diff[k] for k in ("modified", "missing", "extra") if diff[k]}
    temporary = prov.temporary_files(results_dir, folders)
    if not details:
        if temporary:
            return Check(
                "outputs",
                WARN,
                f"{n} files match the manifest; {len(temporary)} leftover temporary files "
                "(an interrupted write; not outputs)",
                {"temporary": temporary},
            )
        return Check("outputs", PASS, f"{n} files match the manifest")
    counts = ", ".join(f"{len(v)} {k}" for k, v in details.items())
    if temporary:
        details["temporary"] = temporary
    return Check("outputs", FAIL, f"{counts} ({n} files recorded)", details)


def check_logs(manifest: Mapping, results_dir: Path) -> Check:
    """Every recorded job log against its checksum; missing, modified and extra logs named.

    Logs written with or after the manifest (:data:`~psymodal.provenance.manifest.LATE_LOGS`)
    are not recorded and not extra. SKIP for a manifest that records no logs (written by an
    older psymodal).
    """
    if "logs" not in manifest:
        return Check("logs", SKIP, "this manifest does not record logs (older psymodal)")
    folders = prov.layout_folders(manifest["layout"])
    diff = compare_files(manifest["logs"], results_dir, prov.log_files(results_dir, folders))
    n = len(manifest["logs"])
    details = {k: diff[k] for k in ("modified", "missing", "extra") if diff[k]}
    if not details:
        return Check("logs", PASS, f"{n} logs match the manifest")
    counts = ", ".join(f"{len(v)} {k}" for k, v in details.items())
    return Check("logs", FAIL, f"{counts} ({n} logs recorded)", details)


def _clean_digest(value: str) -> str:
    value = value.strip().lower()
    return value if value.startswith("sha256:") else f"sha256:{value}"


def check_digest(manifest: Mapping, manifest_file: Path, expect: str | None = None) -> Check:
    """The run digest of the manifest against the one the lab recorded (``expect``).

    Without ``expect`` the digest is only compared with ``provenance/manifest.sha256``, which
    lives beside the manifest and proves nothing against a forger: SKIP when they agree (or
    the file is absent), FAIL when they differ (the manifest was edited after the run).

    Parameters
    ----------
    manifest : mapping
    manifest_file : Path
    expect : str, optional
        ``sha256:<hex>`` (or the bare hex digits).

    Returns
    -------
    Check
    """
    digest = prov.run_digest(manifest)
    beside = prov.digest_path(manifest_file)
    if expect:
        wanted = _clean_digest(expect)
        if wanted == digest:
            return Check("digest", PASS, f"run digest {digest} is the expected one")
        details = {"expected": [wanted], "found": [digest]}
        return Check(
            "digest", FAIL, "the manifest is not the one the expected digest names", details
        )
    if beside.is_file() and _clean_digest(beside.read_text()) != digest:
        details = {"recorded": [_clean_digest(beside.read_text())], "found": [digest]}
        return Check(
            "digest", FAIL, f"the manifest was changed after {beside.name} was written", details
        )
    return Check(
        "digest",
        SKIP,
        f"run digest {digest}: not compared with the lab's record (--expect DIGEST)",
    )


def check_signature(
    manifest_file: Path,
    allowed_signers: str | os.PathLike | None = None,
    identity: str | None = None,
    digest_expected: bool = False,
) -> Check:
    """The manifest's OpenSSH signature, verified against the lab's allowed signers.

    Parameters
    ----------
    manifest_file : Path
    allowed_signers : path-like, optional
        The lab's allowed-signers file; without it a signature is not verified.
    identity : str, optional
        The signer's identity in ``allowed_signers`` (required with it).
    digest_expected : bool
        Whether the run digest matched the lab's record (then an unsigned run is tamper
        evident anyway: SKIP instead of WARN).

    Returns
    -------
    Check
        PASS when the signature verifies, FAIL when it does not (or is required and absent),
        WARN ("integrity against accidental change only") when nothing shows the manifest is
        the one the run wrote.
    """
    signature = integrity.signature_path(manifest_file)
    if allowed_signers is not None:
        if not identity:
            raise ValueError("--allowed-signers needs --identity (the signer in that file)")
        if not signature.is_file():
            return Check("signature", FAIL, f"no signature ({signature.name}) to verify")
        ok, message = integrity.verify_signature(manifest_file, allowed_signers, identity)
        if ok:
            return Check("signature", PASS, f"signed by {identity}: {message}")
        details = {"ssh-keygen": [message]}
        return Check("signature", FAIL, f"does not verify for {identity}", details)
    if digest_expected:
        return Check("signature", SKIP, "not verified; the expected run digest matched")
    state = "signed but not verified (--allowed-signers, --identity)"
    if not signature.is_file():
        state = "unsigned, and no expected digest given"
    return Check("signature", WARN, f"integrity against accidental change only: {state}")


def check_recompute(manifest: Mapping, results_dir: Path) -> Check:
    """The metrics and calibration tables recomputed from the stored predictions.

    Parameters
    ----------
    manifest : mapping
    results_dir : Path

    Returns
    -------
    Check
        SKIP for a run without learning outputs.
    """
    from psymodal.learn.paths import learn_dir, learn_file
    from psymodal.provenance.recompute import compare_recomputed

    folder = learn_dir(results_dir / manifest["layout"]["run_dir"])
    predictions = learn_file(folder, "predictions")
    if not predictions.is_file():
        return Check("recompute", SKIP, f"no {predictions.name} to recompute from")
    try:
        found = compare_recomputed(folder)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Check("recompute", FAIL, f"could not recompute from {folder}: {error}")
    details = {name: r["differences"] for name, r in found.items() if r["differences"]}
    cells = sum(r["cells"] for r in found.values())
    if details:
        counts = ", ".join(f"{len(v)} in {k}.tsv" for k, v in details.items())
        return Check(
            "recompute", FAIL, f"stored tables disagree with their predictions: {counts}", details
        )
    exact = [f"{k}.tsv" for k, r in found.items() if r["identical"]]
    how = f"byte-identical: {', '.join(exact)}" if exact else "equal to stored precision"
    return Check(
        "recompute",
        PASS,
        f"{cells} cells of {', '.join(f'{k}.tsv' for k in found)} recomputed from the "
        f"predictions ({how})",
    )


def infer_workdir(results_dir: Path, recorded: str) -> Path:
    """The folder the run worked in, from the results folder and its recorded location.

    Parameters
    ----------
    results_dir : Path
        Where the results folder is now.
    recorded : str
        The manifest's ``results_dir`` (relative to the working directory, or absolute).

    Returns
    -------
    Path
        ``results_dir`` minus the recorded relative path when it ends with it; otherwise the
        current directory.
    """
    here = Path(os.path.abspath(results_dir))
    parts = Path(recorded).parts
    if not Path(recorded).is_absolute() and here.parts[-len(parts) :] == parts:
        return Path(*here.parts[: -len(parts)])
    return Path.cwd()


def _locate(path: str, workdir: Path) -> Path:
    return Path(path) if Path(path).is_absolute() else workdir / path


def check_inputs(manifest: Mapping, workdir: Path) -> Check:
    """The recorded input files against their checksums, where the run read them.

    Parameters
    ----------
    manifest : mapping
    workdir : Path
        The run's working directory (relative input paths are relative to it).

    Returns
    -------
    Check
        FAIL when an input was modified, WARN when inputs are missing, SKIP when none is
        recorded.
    """
    records = manifest["inputs"]
    if not records:
        return Check("inputs", SKIP, "no inputs recorded")
    modified, missing = [], []
    for record in records:
        path = _locate(record["path"], workdir)
        if not path.is_file():
            missing.append(record["path"])
        elif _differs(path, record):
            modified.append(record["path"])
    details = {k: v for k, v in (("modified", modified), ("missing", missing)) if v}
    if modified:
        return Check("inputs", FAIL, f"{len(modified)} of {len(records)} inputs modified", details)
    if len(missing) == len(records):
        return Check("inputs", WARN, f"none of the {len(records)} inputs found under {workdir}")
    if missing:
        return Check("inputs", WARN, f"{len(missing)} of {len(records)} inputs missing", details)
    return Check("inputs", PASS, f"{len(records)} inputs match the manifest")


def _version(value) -> str:
    return "not installed" if value is None else str(value)


def check_environment(manifest: Mapping, current: Mapping | None = None) -> Check:
    """Recorded package versions and platform against the current ones; differences named.

    Parameters
    ----------
    manifest : mapping
    current : mapping, optional
        ``{"packages": ..., "platform": ...}``; this interpreter's by default.

    Returns
    -------
    Check
        WARN with one ``package`` or ``platform`` line per difference.
    """
    if current is None:
        current = {"packages": prov.package_versions(), "platform": prov.platform_info()}
    packages, platform_ = [], []
    recorded = manifest.get("packages", {})
    now = dict(current["packages"])
    missing_now = [n for n in recorded if n not in now]
    now.update(prov.package_versions(missing_now))
    for name in sorted(recorded):
        if recorded[name] != now.get(name):
            packages.append(
                f"{name}: recorded {_version(recorded[name])}, now {_version(now.get(name))}"
            )
    for key, value in sorted(manifest.get("platform", {}).items()):
        if current["platform"].get(key) != value:
            platform_.append(f"{key}: recorded {value}, now {current['platform'].get(key)}")
    details = {k: v for k, v in (("package", packages), ("platform", platform_)) if v}
    if not details:
        return Check(
            "environment", PASS, f"{len(recorded)} package versions and the platform match"
        )
    names = [line.split(":")[0] for line in packages + platform_]
    return Check("environment", WARN, f"differs from the recorded run: {', '.join(names)}", details)


def generated_by(manifest: Mapping, results_dir: Path) -> dict[str, str]:
    """The psymodal commit each recorded ``dataset_description.json`` names, by folder.

    Stage folders are shared between runs, so some may come from older code than the run.

    Parameters
    ----------
    manifest : mapping
    results_dir : Path

    Returns
    -------
    dict
        Folder (``"."``: the results folder) -> ``GeneratedBy`` commit (``-dirty`` suffix for
        uncommitted changes) or version.
    """
    found = {}
    for record in manifest["outputs"]:
        path = Path(record["path"])
        if path.name != "dataset_description.json" or len(path.parts) > 3:
            continue
        try:
            entry = json.loads((results_dir / path).read_text())["GeneratedBy"][0]
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
        if entry.get("Name") == "psymodal":
            found[path.parent.as_posix()] = entry.get("Commit") or entry.get("Version")
    return dict(sorted(found.items()))


def check_code(
    manifest: Mapping, current: Mapping | None = None, results_dir: Path | None = None
) -> Check:
    """Recorded psymodal version and git state against the current ones.

    Parameters
    ----------
    manifest : mapping
    current : mapping, optional
        ``{"version", "commit", "dirty"}``; this checkout's by default.
    results_dir : Path, optional
        When given, the commits named by the folders' ``dataset_description.json`` are
        compared too (stage folders reused from an earlier run may name older code).

    Returns
    -------
    Check
        WARN when the version or a commit differ, or when either checkout has uncommitted
        changes (a commit then does not identify the code).
    """
    from psymodal import __version__

    recorded = manifest.get("psymodal", {})
    if current is None:
        current = {"version": __version__, **prov.git_state()}
    notes = []
    if recorded.get("version") != current.get("version"):
        notes.append(f"version: recorded {recorded.get('version')}, now {current.get('version')}")
    if recorded.get("commit") != current.get("commit"):
        notes.append(f"commit: recorded {recorded.get('commit')}, now {current.get('commit')}")
    if recorded.get("dirty"):
        notes.append("the recorded run used uncommitted changes")
    if current.get("dirty"):
        notes.append("this checkout has uncommitted changes")
    if results_dir is not None and recorded.get("commit"):
        for folder, commit in generated_by(manifest, results_dir).items():
            if str(commit).removesuffix("-dirty") != recorded["commit"]:
                notes.append(f"{folder} was generated by {commit}")
    described = f"psymodal {recorded.get('version')}" + (
        f" at {recorded['commit'][:12]}" if recorded.get("commit") else ""
    )
    if notes:
        return Check("code", WARN, f"{described}; differs or is not pinned", {"code": notes})
    return Check("code", PASS, f"{described}, as recorded")


# ---- rerun --------------------------------------------------------------------------------
def find_snakefile() -> Path:
    """The Snakefile of the psymodal checkout this library runs from.

    Raises
    ------
    FileNotFoundError
        When psymodal is installed without its workflow (no checkout).
    """
    snakefile = Path(psymodal.__file__).resolve().parents[2] / "Snakefile"
    if not snakefile.exists():
        raise FileNotFoundError(
            f"{snakefile} not found: audit --rerun needs a psymodal source checkout "
            "(pass snakefile=... / --snakefile)"
        )
    return snakefile


def _run(command: list[str], log: Path, cwd: Path, env: Mapping | None = None) -> int:
    """Run ``command`` with stdout and stderr appended to ``log``; return its exit status."""
    with open(log, "a") as handle:
        handle.write(f"$ {shlex.join(command)}\n")
        handle.flush()
        return subprocess.run(
            command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False
        ).returncode


def _tail(log: Path, n: int = 15) -> list[str]:
    return log.read_text(errors="replace").splitlines()[-n:] if log.exists() else []


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(target.resolve(), target_is_directory=target.is_dir())


def prepare_rerun_config(config: Mapping, workdir: Path, tmp: Path) -> tuple[dict, list[str]]:
    """The configuration for a rerun in ``tmp``, reading the inputs the run read.

    Relative paths to real data (``bids_dir``, ``fmriprep_dir``, ``mri.atlas.path``) are
    linked into ``tmp`` so that the configuration stays as recorded. A demo study is
    regenerated by the workflow. Absolute output locations are moved into ``tmp``, so a rerun
    never writes over the audited results.

    Parameters
    ----------
    config : mapping
        The recorded configuration.
    workdir : Path
        The working directory of the recorded run.
    tmp : Path
        The rerun's working directory.

    Returns
    -------
    config : dict
    rewritten : list of str
        The configuration keys that had to change.
    """
    effective = resolve_config(config)  # read with every default; written as recorded
    config = json.loads(json.dumps(config))
    dataset = config.setdefault("dataset", {})
    rewritten = []
    if Path(effective["results_dir"]).is_absolute():
        config["results_dir"] = "results"
        rewritten.append("results_dir")
    paths = [effective["mri"]["atlas"]["path"]]
    if effective["dataset"]["source"] == "demo":
        if Path(effective["dataset"]["bids_dir"]).is_absolute():
            dataset["bids_dir"] = "resources/demo"
            rewritten.append("dataset.bids_dir")
    else:
        paths += [effective["dataset"]["bids_dir"], effective["dataset"]["fmriprep_dir"]]
    for path in paths:
        if path and not Path(path).is_absolute():
            _link(workdir / path, tmp / path)
    return config, rewritten


def _rerun_results_dir(manifest: Mapping, config: Mapping, tmp: Path) -> Path:
    """Where the rerun writes: the recorded location relative to the workdir, if relative."""
    recorded = manifest.get("results_dir")
    if recorded and not Path(recorded).is_absolute():
        return tmp / recorded
    return tmp / config["results_dir"]


def _rerun_layout(layout: Mapping, new_root: Path) -> tuple[dict, list[str]]:
    """The rerun's run folder and stage folders, matched to the recorded ones.

    A rerun derives its run label and stage keys itself (from the config and the version):
    the run folder is the one ``LATEST`` names, a stage folder the one ``<modality>-*``.
    """
    notes = []
    if layout["run_dir"] == ".":
        return dict(layout), notes
    run_dir = layout["run_dir"]
    if (new_root / "LATEST").is_file():
        run_dir = f"runs/{(new_root / 'LATEST').read_text().strip()}"
    if run_dir != layout["run_dir"]:
        notes.append(f"run folder {run_dir} compared with the recorded {layout['run_dir']}")
    stages = {}
    for modality, recorded in layout["stage_dirs"].items():
        found = [p.name for p in sorted(new_root.glob(f"{modality}-*")) if p.is_dir()]
        stages[modality] = recorded if recorded in found or len(found) != 1 else found[0]
        if stages[modality] != recorded:
            notes.append(f"stage folder {stages[modality]} compared with the recorded {recorded}")
    return {"run_dir": run_dir, "stage_dirs": stages}, notes


def _join(folder: str, name: str) -> str:
    """``folder/name`` for a layout folder (``"."`` is the results folder itself)."""
    return name if folder == "." else f"{folder}/{name}"


def _renamer(old: Mapping, new: Mapping) -> Callable[[str], str]:
    """Map a recorded output path to the rerun's folders (run label, stage keys)."""
    pairs = [(old["run_dir"], new["run_dir"])]
    pairs += [(old["stage_dirs"][m], new["stage_dirs"][m]) for m in old["stage_dirs"]]
    pairs = [(a, b) for a, b in pairs if a != "." and a != b]

    def rename(name: str) -> str:
        for a, b in pairs:
            if name.startswith(a + "/"):
                return b + name[len(a) :]
        return name

    return rename


#: Kinds of disagreement between re-produced files and the files on disk.
DISK_KINDS = ("modified on disk", "missing on disk", "extra on disk")


def compare_with_disk(
    rerun_names: list[str],
    rerun_root: Path,
    disk_names: list[str],
    disk_root: Path,
    rename: Callable[[str], str] | None = None,
) -> dict[str, list[str]]:
    """Re-produced files against the files on disk (not against the manifest).

    Parameters
    ----------
    rerun_names : list of str
        Relative paths of the re-produced files under ``rerun_root``.
    rerun_root : Path
    disk_names : list of str
        Relative paths of the audited files under ``disk_root``.
    disk_root : Path
    rename : callable, optional
        Where a path on disk is expected among the re-produced ones (run label, stage keys).

    Returns
    -------
    dict
        ``modified on disk`` (both there, bytes differ), ``missing on disk`` (re-produced, not
        on disk), ``extra on disk`` (on disk, not re-produced): names on disk, or for
        ``missing on disk`` the re-produced names.
    """
    rename = rename or (lambda name: name)
    expected = {rename(name): name for name in disk_names}
    found = set(rerun_names)
    modified = sorted(
        old
        for new, old in expected.items()
        if new in found and not filecmp.cmp(rerun_root / new, disk_root / old, shallow=False)
    )
    return {
        "modified on disk": modified,
        "missing on disk": sorted(found - set(expected)),
        "extra on disk": sorted(old for new, old in expected.items() if new not in found),
    }


def _summarize_rerun(
    diff: dict, n: int, what: str, elapsed: float, notes: list[str], name: str = "rerun"
) -> Check:
    kinds = ("modified", "missing", "extra", *DISK_KINDS)
    details = {k: diff[k] for k in kinds if diff.get(k)}
    if diff.get("sample"):
        details["sample"] = diff["sample"]
    if notes:
        details["note"] = notes
    problems = {k: v for k, v in details.items() if k not in INFO_KINDS}
    if not problems:
        return Check(name, PASS, f"{n} {what} re-produced identically (manifest and disk)", details)
    counts = ", ".join(f"{len(v)} {k}" for k, v in problems.items())
    return Check(name, FAIL, f"{counts} of {n} {what} ({elapsed:.0f} s)", details)


def rerun_workflow(
    manifest: Mapping,
    results_dir: Path,
    tmp: Path,
    snakefile: Path | None = None,
    cores: int = 2,
) -> Check:
    """Rerun the whole workflow in ``tmp`` and compare every recorded output (and, for a
    regenerated demo study, every recorded input) with the re-produced file.

    Parameters
    ----------
    manifest : mapping
    results_dir : Path
        The audited results folder (the one the manifest's paths are relative to).
    tmp : Path
        An empty folder for the rerun.
    snakefile : Path, optional
        The workflow; this checkout's by default (:func:`find_snakefile`).
    cores : int

    Returns
    -------
    Check
    """
    start = time.monotonic()
    workdir = infer_workdir(results_dir, manifest["results_dir"])
    config, rewritten = prepare_rerun_config(manifest["config"], workdir, tmp)
    write_config_yaml(config, tmp / "config" / "config.yaml")
    snakefile = Path(snakefile or find_snakefile())
    log = tmp / "audit-rerun.log"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile)]
    command += ["--directory", str(tmp), "--cores", str(cores)]
    if _run(command, log, tmp) != 0:
        return Check(
            "rerun", FAIL, f"the workflow failed in {tmp} (log: {log})", {"log": _tail(log)}
        )
    elapsed = time.monotonic() - start
    new_root = _rerun_results_dir(manifest, config, tmp)
    layout, notes = _rerun_layout(manifest["layout"], new_root)
    notes.insert(0, f"workflow rerun in {elapsed:.0f} s with {cores} cores")
    config_copy = _join(layout["run_dir"], f"{prov.PROVENANCE_DIR}/{prov.CONFIG_NAME}")
    if not (new_root / config_copy).exists():
        # a workflow that does not record its configuration: write the copy as it would
        write_config_yaml(config, new_root / config_copy)
        notes.append(f"the workflow wrote no {config_copy}: written by the audit")
    records = manifest["outputs"]
    present = prov.output_files(new_root, prov.layout_folders(layout))
    rename = _renamer(manifest["layout"], layout)
    if rewritten:
        # the rerun's configuration names other folders: its copy cannot match
        recorded_copy = _join(
            manifest["layout"]["run_dir"], f"{prov.PROVENANCE_DIR}/{prov.CONFIG_NAME}"
        )
        records = [r for r in records if r["path"] != recorded_copy]
        present = [p for p in present if p != config_copy]
        notes.append(f"config keys changed for the rerun: {', '.join(rewritten)}")
        notes.append(f"not compared: {recorded_copy}")
    diff = compare_files(records, new_root, present, rename)
    on_disk = prov.output_files(results_dir, prov.layout_folders(manifest["layout"]))
    recorded_names = {r["path"] for r in manifest["outputs"]} - {r["path"] for r in records}
    on_disk = [p for p in on_disk if p not in recorded_names]  # not compared (config copy)
    diff.update(compare_with_disk(present, new_root, on_disk, results_dir, rename))
    if config["dataset"]["source"] == "demo":
        _compare_demo_inputs(manifest, workdir, config, tmp, diff, notes)
    return _summarize_rerun(diff, len(records), "outputs", elapsed, notes)


def _compare_demo_inputs(manifest, workdir, config, tmp, diff, notes) -> None:
    """Add the regenerated demo study's differences to ``diff`` (as ``input`` entries)."""
    old_root = _locate(manifest["config"]["dataset"]["bids_dir"], workdir)
    new_root = _locate(config["dataset"]["bids_dir"], tmp)
    records = []
    for record in manifest["inputs"]:
        try:
            rel = _locate(record["path"], workdir).relative_to(old_root).as_posix()
        except ValueError:
            continue
        records.append({**record, "path": rel})
    present = [p.relative_to(new_root).as_posix() for p in prov.expand_paths([new_root])]
    inputs = compare_files(records, new_root, present)
    for kind in ("modified", "missing", "extra"):
        diff[kind] = diff.get(kind, []) + [f"input {new_root.name}/{p}" for p in inputs[kind]]
    notes.append(f"demo study regenerated: {len(inputs['identical'])} of {len(records)} inputs")


def _stage_prefix(layout: Mapping, modality: str) -> str:
    """``"<stage folder>/"`` of a modality, ``""`` in a flat results folder."""
    stage = layout["stage_dirs"].get(modality, ".")
    return "" if stage == "." else stage + "/"


def recorded_subjects(manifest: Mapping, modalities: list[str]) -> list[str]:
    """The subjects with per-subject outputs (``sub-*/`` of a stage folder) in the manifest."""
    subjects = set()
    for modality in modalities:
        prefix = _stage_prefix(manifest["layout"], modality)
        for record in manifest["outputs"]:
            if record["path"].startswith(prefix):
                first = record["path"][len(prefix) :].split("/")[0]
                if _SUBJECT.match(first):
                    subjects.add(first)
    return sorted(subjects)


def rerun_subjects(
    manifest: Mapping,
    results_dir: Path,
    tmp: Path,
    n_subjects: int,
    inputs_ok: bool,
    seed: int | None = None,
) -> Check:
    """Re-run the atlas and the per-subject stages for ``n_subjects`` random participants.

    The subjects are drawn from those with recorded per-subject outputs by
    :func:`psymodal.provenance.sampling.draw_subjects` with ``seed`` (the current time when
    not given; the seed is reported, so that the draw can be repeated). The ``psymodal
    atlas``, ``mri`` and ``speech`` sub-commands are called as the workflow's rules call them,
    with the recorded settings, on the recorded inputs (or, for a demo study whose files are
    not available or not intact, on a regenerated one); their files are compared with the
    manifest and with the files on disk. Group tables and learning are not re-run.

    Parameters
    ----------
    manifest : mapping
    results_dir : Path
        The folder the manifest's paths are relative to.
    tmp : Path
        An empty folder for the rerun.
    n_subjects : int
    inputs_ok : bool
        Whether the recorded inputs are present and intact (the ``inputs`` check passed).
    seed : int, optional
        Seed of the draw; :func:`psymodal.provenance.sampling.time_seed` when not given.

    Returns
    -------
    Check
    """
    from psymodal.workflow.commands import (
        atlas_command,
        demo_command,
        language_command,
        mri_command,
        speech_command,
    )
    from psymodal.workflow.plan import STAGES, mri_input

    start = time.monotonic()
    config = resolve_config(manifest["config"])
    dataset = config["dataset"]
    layout = manifest["layout"]
    workdir = infer_workdir(results_dir, manifest["results_dir"])
    modalities = [m for m in STAGES if config[m]["enabled"]]
    everyone = recorded_subjects(manifest, modalities)
    if not everyone:
        return Check("rerun", FAIL, "the manifest lists no per-subject outputs (sub-*/)")
    seed = sampling.time_seed() if seed is None else int(seed)
    subjects = sampling.draw_subjects(everyone, n_subjects, seed)
    n, k1 = len(everyone), sampling.detection_probability(len(everyone), 1, len(subjects))
    sample = [
        f"{len(subjects)} of {n} subjects drawn at random with seed {seed} "
        f"(--seed {seed} repeats the draw): {', '.join(subjects)}",
        f"P(found) = 1 - C(n-k, N)/C(n, N) with k forged of n = {n}, N = {len(subjects)}: "
        f"{k1:.2f} for k = 1; N = {sampling.subjects_needed(n, 1, 0.95)} reaches 0.95",
    ]
    log = tmp / "audit-rerun.log"
    out = tmp / "results"
    env = dict(os.environ)
    src = str(Path(psymodal.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    cli = [sys.executable, "-m", "psymodal.cli"]
    notes = []
    diff: dict[str, list[str]] = {"modified": [], "missing": [], "extra": [], "sample": sample}
    # Paths are passed as the rules pass them (the config's, often relative to the working
    # directory) because some outputs record them; outputs go to ``tmp``.
    if inputs_ok:
        run_dir, bids = workdir, dataset["bids_dir"]
    elif dataset["source"] == "demo":
        run_dir, bids = tmp, dataset["bids_dir"]
        if Path(bids).is_absolute():
            bids = "resources/demo"
            notes.append("demo study regenerated in resources/demo: recorded paths differ")
        atlas_path = config["mri"]["atlas"]["path"]
        if atlas_path and not Path(atlas_path).is_absolute():
            _link(workdir / atlas_path, tmp / atlas_path)
        if _run([*cli, *demo_command(config, bids)], log, run_dir, env) != 0:
            return Check("rerun", FAIL, f"demo generation failed (log: {log})", {"log": _tail(log)})
        regenerated = {"dataset": {"bids_dir": str(tmp / bids)}}
        _compare_demo_inputs(manifest, workdir, regenerated, tmp, diff, notes)
    else:
        return Check("rerun", FAIL, "the recorded inputs are not available or not intact")
    steps, chosen = [], []
    if "mri" in modalities:
        stage = out / _stage_prefix(layout, "mri")
        # The rules' own command builder, on the config with the dataset as found here.
        located = {**config, "dataset": {**dataset, "bids_dir": bids}}
        if mri_input(located) != "timeseries":
            steps.append(atlas_command(located, stage / "atlas"))
            chosen.append(_stage_prefix(layout, "mri") + "atlas/")
        steps.append(mri_command(located, subjects, bids, stage, stage / "atlas"))
    if "speech" in modalities:
        stage = out / _stage_prefix(layout, "speech")
        steps.append(speech_command(config, subjects, bids, stage))
    if "language" in modalities:
        stage = out / _stage_prefix(layout, "language")
        steps.append(language_command(config, subjects, bids, stage))
    for modality in modalities:
        chosen += [f"{_stage_prefix(layout, modality)}{s}/" for s in subjects]
    for step in steps:
        if _run([*cli, *step], log, run_dir, env) != 0:
            return Check(
                "rerun", FAIL, f"`psymodal {step[0]}` failed (log: {log})", {"log": _tail(log)}
            )
    elapsed = time.monotonic() - start
    prefixes = tuple(chosen)
    records = [r for r in manifest["outputs"] if r["path"].startswith(prefixes)]
    present = [p for p in prov.output_files(out) if p.startswith(prefixes)]
    files = compare_files(records, out, present)
    for kind in ("modified", "missing", "extra"):
        diff[kind] = files[kind] + diff[kind]
    folders = prov.layout_folders(layout)
    on_disk = [p for p in prov.output_files(results_dir, folders) if p.startswith(prefixes)]
    diff.update(compare_with_disk(present, out, on_disk, results_dir))
    notes.insert(
        0, f"subjects {', '.join(subjects)}: atlas and per-subject stages in {elapsed:.0f} s"
    )
    return _summarize_rerun(diff, len(records), "outputs", elapsed, notes)


def _as_run(path: Path, workdir: Path) -> str:
    """``path`` as the workflow passed it: relative to ``workdir`` when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(workdir).as_posix()
    except ValueError:
        return str(absolute)


def relearn(manifest: Mapping, results_dir: Path, tmp: Path) -> Check:
    """Re-run the learning stage from the stored group tables; compare every learning file.

    The ``learn`` rule's command (:func:`psymodal.workflow.commands.learn_command`) runs with
    the recorded configuration, in the run's working directory, on the stored
    ``participants.tsv`` and group feature and QC tables, writing into ``tmp``. Every file it
    writes is compared with the manifest and with the files on disk (``predictions.tsv``
    first of all: a forged prediction does not come out of the stored features).

    Parameters
    ----------
    manifest : mapping
    results_dir : Path
        The folder the manifest's paths are relative to.
    tmp : Path
        An empty folder.

    Returns
    -------
    Check
    """
    from psymodal.learn.paths import LEARN_FOLDER
    from psymodal.workflow.commands import learn_command
    from psymodal.workflow.plan import MODALITY_STAGE, STAGES, participants_tsv, stage_modalities
    from psymodal.workflow.stage_tables import group_table

    start = time.monotonic()
    config = resolve_config(manifest["config"])
    layout = manifest["layout"]
    workdir = infer_workdir(results_dir, manifest["results_dir"])
    participants = _locate(str(participants_tsv(config)), workdir)
    if not participants.is_file():
        return Check("relearn", FAIL, f"{participants} not found: cannot re-run learning")
    modalities = [m for stage in STAGES for m in stage_modalities(config, stage)]
    tables = {}
    for kind in ("features", "qc"):
        tables[kind] = {}
        for modality in modalities:
            stage = layout["stage_dirs"].get(MODALITY_STAGE[modality], ".")
            path = group_table(results_dir / stage, modality, kind)
            if not path.is_file():
                return Check("relearn", FAIL, f"{path} not found: cannot re-run learning")
            tables[kind][modality] = _as_run(path, workdir)
    recorded_dir = _join(layout["run_dir"], LEARN_FOLDER)
    out = tmp / recorded_dir
    command = learn_command(
        config, _as_run(participants, workdir), tables["features"], tables["qc"], out
    )
    log = tmp / "audit-relearn.log"
    env = dict(os.environ)
    src = str(Path(psymodal.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    if _run([sys.executable, "-m", "psymodal.cli", *command], log, workdir, env) != 0:
        return Check("relearn", FAIL, f"`psymodal learn` failed (log: {log})", {"log": _tail(log)})
    elapsed = time.monotonic() - start
    prefix = recorded_dir + "/"
    records = [r for r in manifest["outputs"] if r["path"].startswith(prefix)]
    present = prov.output_files(tmp, [recorded_dir])
    diff = compare_files(records, tmp, present)
    disk = prov.output_files(results_dir, [recorded_dir])
    diff.update(compare_with_disk(present, tmp, disk, results_dir))
    note = f"learning re-run in {elapsed:.0f} s from the group tables of " + ", ".join(
        f"{m} ({tables['features'][m]})" for m in modalities
    )
    return _summarize_rerun(diff, len(records), "learning files", elapsed, [note], "relearn")


# ---- entry point --------------------------------------------------------------------------
def audit(
    results_dir: str | os.PathLike,
    rerun: bool = False,
    subjects: int | None = None,
    *,
    verify_inputs: bool = True,
    strict: bool = False,
    cores: int = 2,
    snakefile: str | os.PathLike | None = None,
    keep: bool = False,
    tmp_root: str | os.PathLike | None = None,
    expect: str | None = None,
    allowed_signers: str | os.PathLike | None = None,
    identity: str | None = None,
    recompute: bool = True,
    relearn_stage: bool = False,
    seed: int | None = None,
) -> AuditReport:
    """Audit ``results_dir`` against ``<results_dir>/provenance/manifest.json``.

    Parameters
    ----------
    results_dir : path-like
    rerun : bool
        Also re-execute the run in a temporary folder and compare the re-produced files.
    subjects : int, optional
        With ``rerun``: re-run only the atlas and the per-subject stages for this many
        participants, drawn at random with ``seed``, instead of the whole workflow.
    verify_inputs : bool
        Whether to checksum the recorded inputs (large studies: hours of BOLD data).
    strict : bool
        Count warnings (environment, code, unavailable inputs, an unsigned run) as failures.
    cores : int
        Cores for the rerun.
    snakefile : path-like, optional
        Workflow for the rerun; this checkout's by default.
    keep : bool
        Keep the rerun folder (it is always kept when the rerun fails).
    tmp_root : path-like, optional
        Where to create the rerun folder; the system's temporary folder by default.
    expect : str, optional
        The run digest the lab recorded (``sha256:...``); FAIL when the manifest's differs.
    allowed_signers : path-like, optional
        An OpenSSH allowed-signers file: verify ``provenance/manifest.json.sig`` (with
        ``identity``).
    identity : str, optional
        The signer's identity in ``allowed_signers``.
    recompute : bool
        Recompute the metrics and calibration tables from the stored predictions.
    relearn_stage : bool
        Re-run the learning stage from the stored group tables and compare its files.
    seed : int, optional
        Seed of the subject sample of ``rerun`` with ``subjects``; from the current time by
        default (reported either way).

    Returns
    -------
    AuditReport

    Raises
    ------
    FileNotFoundError, ValueError
        Without a manifest, or with one of an unknown schema (a usage error, not a failed
        audit). A damaged manifest (not JSON) is a failed audit.
    """
    if subjects is not None and subjects < 1:
        raise ValueError("subjects must be at least 1")
    if allowed_signers is not None and not identity:
        raise ValueError("allowed_signers needs identity (the signer in that file)")
    try:
        manifest_file, root = prov.find_manifest(results_dir)
        manifest = prov.read_manifest(manifest_file)
    except prov.DamagedManifestError as error:
        report = AuditReport(Path(results_dir), manifest=error.path, strict=strict)
        report.checks.append(Check("manifest", FAIL, str(error)))
        return report
    report = AuditReport(Path(results_dir), manifest=manifest_file, strict=strict)
    report.info["run digest"] = prov.run_digest(manifest)
    report.info["audited"] = f"{prov.now_iso()} with psymodal {psymodal.__version__}"
    report.checks.append(check_outputs(manifest, root))
    workdir = infer_workdir(root, manifest["results_dir"])
    if verify_inputs:
        report.checks.append(check_inputs(manifest, workdir))
    else:
        report.checks.append(Check("inputs", SKIP, "not checked (--no-inputs)"))
    report.checks.append(check_code(manifest, results_dir=root))
    report.checks.append(check_environment(manifest))
    report.checks.append(check_logs(manifest, root))
    digest = check_digest(manifest, manifest_file, expect)
    report.checks.append(digest)
    if expect:
        report.info["expected digest"] = _clean_digest(expect)
    report.checks.append(
        check_signature(manifest_file, allowed_signers, identity, digest.status == PASS)
    )
    if allowed_signers is not None:
        report.info["signature"] = f"identity {identity}, allowed signers {allowed_signers}"
    if recompute:
        report.checks.append(check_recompute(manifest, root))
    else:
        report.checks.append(Check("recompute", SKIP, "not run (--no-recompute)"))
    if relearn_stage:
        tmp = Path(tempfile.mkdtemp(prefix="psymodal-relearn-", dir=tmp_root))
        check = relearn(manifest, root, tmp)
        report.checks.append(check)
        if keep or check.status == FAIL:
            report.info["relearn folder"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if rerun:
        tmp = Path(tempfile.mkdtemp(prefix="psymodal-audit-", dir=tmp_root))
        if subjects is not None:
            inputs_ok = report.check("inputs").status == PASS
            seed = sampling.time_seed() if seed is None else int(seed)
            report.info["rerun"] = f"per-subject stages of {subjects} random subjects, seed {seed}"
            check = rerun_subjects(manifest, root, tmp, subjects, inputs_ok, seed)
        else:
            report.info["rerun"] = "the whole workflow"
            check = rerun_workflow(manifest, root, tmp, snakefile, cores)
        report.checks.append(check)
        if keep or check.status == FAIL:
            report.rerun_dir = tmp
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return report
