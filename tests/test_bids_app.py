"""The BIDS-App command line (``psymodal bids-app BIDS_DIR OUTPUT_DIR participant|group``)
drives the workflow from any folder; checked with ``--dry-run`` (no job runs)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from psymodal.bids_app import compose_config
from psymodal.cli import main


def _study(root):
    for sub in ("01", "02", "03"):
        audio = root / f"sub-{sub}" / "audio" / f"sub-{sub}_task-reading_audio.wav"
        audio.parent.mkdir(parents=True)
        audio.write_bytes(b"RIFF")
    (root / "participants.tsv").write_text(
        "participant_id\tdiagnosis\tage\n"
        "sub-01\tpatient\t30\nsub-02\tcontrol\t31\nsub-03\tpatient\t40\n"
    )
    return root


def test_participant_level_dry_run_from_another_folder(tmp_path, monkeypatch, capsys):
    bids = _study(tmp_path / "bids")
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({"batch_size": 2, "learn": {"confounds": ["age"]}}))
    monkeypatch.chdir(tmp_path)
    argv = ["bids-app", "bids", "out", "participant", "--participant-label", "03"]
    status = main([*argv, "--config", str(config), "--cores", "1", "--dry-run"])
    captured = capsys.readouterr()
    assert status == 0, captured.err[-3000:]
    # the second batch (sub-03) only, the composed config kept for a later rerun
    assert "speech_batch-1.log" in captured.out + captured.err
    assert "speech_batch-0.log" not in captured.out + captured.err
    written = yaml.safe_load((tmp_path / "out" / "config" / "config.yaml").read_text())
    assert written["dataset"]["bids_dir"] == str(bids)
    assert written["results_dir"] == str(tmp_path / "out")
    assert not (tmp_path / "out" / "runs").exists()  # a dry run


def test_bad_calls_are_one_line_errors(tmp_path, monkeypatch, capsys):
    _study(tmp_path / "bids")
    monkeypatch.chdir(tmp_path)
    assert main(["bids-app", "bids", "out", "participant", "--participant-label", "09"]) == 2
    assert "sub-09 not in" in capsys.readouterr().err
    assert main(["bids-app", "bids", "out", "group", "--participant-label", "01"]) == 2
    assert "participant level" in capsys.readouterr().err
    assert main(["bids-app", "missing", "out", "group"]) == 2


def test_dataset_paths_are_read_from_the_bids_dir(tmp_path):
    (tmp_path / "abide" / "Functional").mkdir(parents=True)
    config = compose_config(
        tmp_path / "abide",
        "out",
        {"dataset": {"source": "timeseries", "timeseries_dir": "Functional"}},
    )
    assert config["dataset"]["timeseries_dir"] == str(tmp_path / "abide" / "Functional")
    assert config["dataset"]["source"] == "timeseries"


def test_console_script_help():
    result = subprocess.run(
        [sys.executable, "-m", "psymodal.bids_app", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "{participant,group}" in result.stdout and "--participant-label" in result.stdout


@pytest.mark.parametrize("level", ["participant", "group"])
def test_both_levels_are_accepted(level, tmp_path, monkeypatch):
    _study(tmp_path / "bids")
    monkeypatch.chdir(tmp_path)
    assert main(["bids-app", "bids", "out", level, "--cores", "1", "--dry-run"]) == 0
