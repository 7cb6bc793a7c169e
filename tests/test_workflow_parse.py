"""Planning the workflow is light and works from any folder: parsing the Snakefile and
building the DAG import no numerical library (per-rule environments then spare the user the
full install), the config is never dropped silently, and a config error is one short message."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from _helpers import SNAKEMAKE

#: Imported only inside jobs, never while the workflow is planned.
HEAVY = ("pandas", "numpy", "scipy", "sklearn", "nilearn", "nibabel", "torch", "librosa")
HIDE_EXECUTOR_PLUGINS = """
import pkgutil

_iter_modules = pkgutil.iter_modules


def _without_executor_plugins(*args, **kwargs):
    for module in _iter_modules(*args, **kwargs):
        if not module.name.startswith("snakemake_executor_plugin_"):
            yield module


pkgutil.iter_modules = _without_executor_plugins
"""


def _bids_study(root):
    (root / "sub-01" / "audio").mkdir(parents=True)
    (root / "sub-01" / "audio" / "sub-01_task-reading_audio.wav").write_bytes(b"RIFF")
    (root / "participants.tsv").write_text(
        "participant_id\tdiagnosis\tage\nsub-01\tpatient\t30\nsub-02\tcontrol\t31\n"
    )
    config = {
        "dataset": {"source": "bids", "bids_dir": str(root)},
        "results_dir": str(root.parent / "results"),
        "learn": {"confounds": ["age"]},
    }
    path = root.parent / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _snakemake(cwd, *args, env=None):
    return subprocess.run(
        [*SNAKEMAKE, "--dry-run", "--cores", "1", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_planning_a_study_from_another_folder_imports_no_numerical_library(tmp_path):
    blocked = tmp_path / "blocked"
    for name in HEAVY:
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(
            f"raise ImportError('{name} imported while the workflow is planned')\n"
        )
    # what is measured is the workflow's own imports: executor plugins installed beside
    # Snakemake are imported by Snakemake at start-up (snakemake-executor-plugin-slurm 2.8
    # imports pandas), so Snakemake does not see them here
    (blocked / "sitecustomize.py").write_text(HIDE_EXECUTOR_PLUGINS)
    config = _bids_study(tmp_path / "bids")
    (tmp_path / "elsewhere").mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), *sys.path])}
    result = _snakemake(tmp_path / "elsewhere", "--configfile", str(config), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "speech_batch" in result.stdout + result.stderr
    # the workflow's own config/config.yaml is used under --configfile, and said so
    assert "no config/config.yaml in" in result.stderr + result.stdout


def test_a_config_error_is_one_short_message(tmp_path):
    config = tmp_path / "partial.yaml"
    config.write_text("dataset:\n  source: bids\n  bids_dir: /nonexistent\n")
    result = _snakemake(tmp_path, "--configfile", str(config))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "dataset: /nonexistent/participants.tsv not found" in output
    assert len(output.splitlines()) < 10, output
