"""The shareable copy's recordings come with the psymodal settings to analyse them:
speech rate from intensity peaks (``code/psymodal-config.yaml``), since anonymisation changes
voicing (benchmarks/RESULTS.md, "speech rate on anonymised speech")."""

from __future__ import annotations

import json

import pandas as pd
import soundfile as sf
import yaml

from _helpers import SR, pulse_vowel, with_silence
from psymodal.io.tables import write_tsv
from psymodal.privacy.study import ANALYSIS_CONFIG_NAME, anonymize_study
from psymodal.settings import resolve_config

KEY = bytes(range(32))


def _study(root, with_audio: bool):
    root.mkdir()
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "x", "BIDSVersion": "1.10.0"})
    )
    write_tsv(pd.DataFrame({"participant_id": ["sub-01"], "diagnosis": ["patient"]}),
              root / "participants.tsv")  # fmt: skip
    if with_audio:
        audio = root / "sub-01" / "audio"
        audio.mkdir(parents=True)
        sf.write(audio / "sub-01_task-reading_audio.wav", with_silence(pulse_vowel(0.5)), SR)
    return root


def test_copy_with_recordings_carries_intensity_nuclei_settings(tmp_path):
    summary = anonymize_study(_study(tmp_path / "bids", True), tmp_path / "copy", KEY)
    assert summary["shared"]["anonymised recording"] == 1
    text = (tmp_path / "copy" / "code" / ANALYSIS_CONFIG_NAME).read_text()
    config = resolve_config(yaml.safe_load(text))  # a valid psymodal config
    assert config["speech"]["syllables"]["require_voicing"] is False
    assert "code/psymodal-config.yaml" in (tmp_path / "copy" / "README").read_text()
    anonymize_study(_study(tmp_path / "mri_only", False), tmp_path / "copy2", KEY)
    assert not (tmp_path / "copy2" / "code").exists()
