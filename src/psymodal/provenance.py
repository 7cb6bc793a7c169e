"""Provenance of a results folder: what code produced it.

``dataset_description.json`` follows BIDS-Derivatives: ``GeneratedBy`` names psymodal, its
version, where its code lives and the git commit of the checkout that ran (when known).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from psymodal import __version__
from psymodal.tables import write_json

CODE_URL = "https://github.com/psymodal/psymodal"
BIDS_VERSION = "1.10.0"


def git_state(path: Path | None = None) -> dict:
    """Commit and dirty flag of the git checkout holding ``path`` (psymodal's source by default).

    Returns an empty dict when psymodal was installed from a wheel (no checkout).
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
    """The BIDS-Derivatives ``dataset_description.json`` content for a psymodal results folder."""
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
    return write_json(dataset_description(), Path(results_dir) / "dataset_description.json")
