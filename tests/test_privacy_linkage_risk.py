"""Linkage risk of shared feature tables, measured on the study's own data
(``psymodal.privacy.linkage_risk``), and what ``linkage_risk.json`` says about it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from _helpers import SR, pulse_vowel, with_silence
from psymodal.io.tables import write_tsv
from psymodal.privacy.features import share_features
from psymodal.privacy.linkage_risk import (
    connectome_fingerprinting,
    measure_for_share,
    speech_linkage,
)

pytestmark = pytest.mark.usefixtures("one_thread")

KEY = bytes(range(32))
REGIONS = [f"r{i}" for i in range(8)]


def _series(path, mixing, rng, volumes=60):
    """Time series whose correlation structure is the participant's own ``mixing``."""
    data = rng.normal(size=(volumes, len(REGIONS))) @ mixing
    write_tsv(pd.DataFrame(data, columns=REGIONS), path)
    return path


def test_fingerprinting_finds_people_with_their_own_connectome_and_not_without(tmp_path):
    rng = np.random.default_rng(0)
    own, same, two = {}, {}, {}
    shared_mixing = rng.normal(size=(8, 8))
    for i in range(6):
        mixing = rng.normal(size=(8, 8))
        own[f"sub-{i}"] = [_series(tmp_path / f"own{i}.tsv", mixing, rng, volumes=400)]
        same[f"sub-{i}"] = [_series(tmp_path / f"same{i}.tsv", shared_mixing, rng)]
        two[f"sub-{i}"] = [
            _series(tmp_path / f"run1_{i}.tsv", mixing, rng, volumes=200),
            _series(tmp_path / f"run2_{i}.tsv", mixing, rng, volumes=200),
        ]
    found = connectome_fingerprinting(own)
    assert found["split_halves"]["top1"] == 1.0
    assert found["split_halves"]["chance"] == pytest.approx(1 / 6)
    assert found["split_halves"]["n_edges"] == 28
    assert found["two_acquisitions"] == {
        "measured": False,
        "reason": "0 participant(s) with usable two acquisitions; at least 3 are needed",
    }
    # one structure for everyone: nothing but noise tells people apart
    assert connectome_fingerprinting(same)["split_halves"]["top1"] <= 0.5
    runs = connectome_fingerprinting(two)["two_acquisitions"]
    assert runs["measured"] and runs["top1"] == 1.0 and "second run or session" in runs["protocol"]
    few = connectome_fingerprinting({k: own[k] for k in ("sub-0", "sub-1")})
    assert not few["split_halves"]["measured"] and "at least 3" in few["split_halves"]["reason"]


def _voice(path, f0, formants, seconds=4.0):
    """A speaker: syllable-like vowel bursts at its own F0 and formants."""
    burst = pulse_vowel(0.18, f0=f0, formants=formants)
    gap = np.zeros(int(0.12 * SR))
    y = np.concatenate([np.concatenate([burst, gap]) for _ in range(int(seconds / 0.3))])
    sf.write(path, with_silence(y), SR)
    return path


def test_speech_linkage_on_split_halves_and_on_two_recordings(tmp_path):
    voices = [(100, (600, 1100, 2500)), (150, (750, 1300, 2700)), (210, (850, 1700, 2900))]
    first = {f"sub-{i}": [_voice(tmp_path / f"a{i}.wav", *v)] for i, v in enumerate(voices)}
    settings = {"egemaps": {"enabled": False}}
    linked = speech_linkage(first, settings)["split_halves"]
    assert linked["measured"] and linked["n_participants"] == 3
    assert linked["top1"] == 1.0 and linked["chance"] == pytest.approx(1 / 3)
    assert 2 <= linked["n_features"] <= linked["n_features_released"]
    two = {p: [*paths, _voice(tmp_path / f"b{p}.wav", *voices[int(p[-1])], 3.0)]
           for p, paths in first.items()}  # fmt: skip
    assert speech_linkage(two, settings)["two_acquisitions"]["top1"] == 1.0


def test_linkage_risk_json_labels_measured_and_published_figures(tmp_path):
    rng = np.random.default_rng(1)
    stage = tmp_path / "mri"
    rows = []
    for i in range(4):
        folder = stage / f"sub-{i:02d}" / "func"
        folder.mkdir(parents=True)
        mixing = rng.normal(size=(8, 8))
        _series(folder / f"sub-{i:02d}_task-rest_atlas-toy_timeseries.tsv", mixing, rng, 300)
        rows.append({"participant_id": f"sub-{i:02d}", "e1": float(i), "e2": 1.0})
    rows.append({"participant_id": "sub-99", "e1": np.nan, "e2": np.nan})  # excluded by QC
    write_tsv(pd.DataFrame(rows), tmp_path / "mri_features.tsv")
    write_tsv(pd.DataFrame({"participant_id": ["sub-99"], "x": [1.0]}), tmp_path / "lang.tsv")
    people = pd.DataFrame(
        {"participant_id": [r["participant_id"] for r in rows], "diagnosis": "patient"}
    )
    write_tsv(people, tmp_path / "participants.tsv")
    tables = {"mri": tmp_path / "mri_features.tsv", "language": tmp_path / "lang.tsv"}
    measured = measure_for_share(tables, timeseries_dir=stage)
    assert measured["mri"]["split_halves"]["n_participants"] == 4  # sub-99 has no connectome
    assert "4 participants" in measured["mri"]["measured_on"]
    written = share_features(
        tmp_path / "participants.tsv", tables, tmp_path / "out", KEY, measured=measured
    )
    risk = json.loads(written["risk"].read_text())
    mri = risk["tables"]["mri"]
    assert mri["this_study"]["split_halves"]["top1"] == 1.0
    published = mri["published_benchmark"]
    assert published["figures"]["top1"] == 0.940
    assert published["source"].startswith("benchmarks/RESULTS.md, section 'Privacy: ")
    assert published["command"].startswith("python benchmarks/privacy_attacks.py")
    language = risk["tables"]["language"]
    assert not language["this_study"]["measured"] and "identifying" in language["note"]
    assert "published_benchmark" not in language
    for original in (r["participant_id"] for r in rows):
        assert original not in written["risk"].read_text()
