"""``psymodal share-features``: a study's derived feature tables under keyed pseudonyms."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.privacy.features import share_features
from psymodal.privacy.pseudonyms import pseudonym

KEY = bytes(range(32))


@pytest.fixture
def study(tmp_path):
    participants = pd.DataFrame(
        {
            "participant_id": ["sub-03", "sub-01", "sub-02"],
            "diagnosis": ["patient", "control", "patient"],
            "age": ["34.5", "91", "n/a"],
            "sex": ["F", "M", "F"],
            "full_name": ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        }
    )
    write_tsv(participants, tmp_path / "participants.tsv")
    features = pd.DataFrame(
        {
            "participant_id": ["sub-01", "sub-02", "sub-03"],
            "f0_mean_hz": [110.0, 205.5, None],
            "pause_ratio": [0.1, 0.2, 0.3],
            "note": ["recorded by Dr Smith", "ok", "ok"],
        }
    )
    write_tsv(features, tmp_path / "speech_features.tsv")
    return tmp_path


def test_shared_tables_carry_pseudonyms_allowed_columns_and_numbers_only(study, tmp_path):
    out = tmp_path / "shared"
    written = share_features(
        study / "participants.tsv", {"speech": study / "speech_features.tsv"}, out, KEY
    )
    ids = {f"sub-{k:02d}": f"sub-{pseudonym(f'{k:02d}', KEY)}" for k in (1, 2, 3)}
    participants = pd.read_csv(written["participants"], sep="\t", dtype=str, keep_default_na=False)
    assert sorted(participants["participant_id"]) == list(participants["participant_id"])
    assert set(participants["participant_id"]) == set(ids.values())
    assert list(participants.columns) == ["participant_id", "diagnosis", "age", "sex"]
    by_id = participants.set_index("participant_id")
    assert by_id.loc[ids["sub-03"], "age"] == "30-34"
    assert by_id.loc[ids["sub-01"], "age"] == "90+"
    features = read_tsv(written["speech"])
    assert list(features.columns) == ["participant_id", "f0_mean_hz", "pause_ratio"]
    shared = features.set_index("participant_id")
    assert shared.loc[ids["sub-02"], "f0_mean_hz"] == 205.5
    assert pd.isna(shared.loc[ids["sub-03"], "f0_mean_hz"])
    text = "".join(p.read_text() for p in out.iterdir())
    for original in ("sub-01", "sub-02", "sub-03", "Lovelace", "Smith"):
        assert original not in text, original
    risk = json.loads(written["risk"].read_text())
    assert risk["shared"] == ["speech"] and "published_benchmark" in risk["tables"]["speech"]


def test_same_key_same_pseudonyms_and_a_row_without_one_is_refused(study, tmp_path):
    first = share_features(
        study / "participants.tsv", {"speech": study / "speech_features.tsv"}, tmp_path / "a", KEY
    )
    again = share_features(
        study / "participants.tsv", {"speech": study / "speech_features.tsv"}, tmp_path / "b", KEY
    )
    assert first["speech"].read_bytes() == again["speech"].read_bytes()
    extra = read_tsv(study / "speech_features.tsv")
    extra.loc[len(extra)] = ["sub-99", 1.0, 1.0, "x"]
    write_tsv(extra, study / "speech_features.tsv")
    before = (study / "speech_features.tsv").read_bytes()
    for bad in ("../speech", "my speech"):  # "../speech" would write over the study's table
        with pytest.raises(ValueError, match="modality"):
            share_features(
                study / "participants.tsv", {bad: study / "speech_features.tsv"}, study / "d", KEY
            )
    assert (study / "speech_features.tsv").read_bytes() == before
    with pytest.raises(ValueError, match="sub-99"):
        share_features(
            study / "participants.tsv",
            {"speech": study / "speech_features.tsv"},
            tmp_path / "c",
            KEY,
        )


def test_share_features_command(study, tmp_path, capsys):
    from psymodal.cli import main
    from psymodal.privacy.pseudonyms import write_key

    key = write_key(tmp_path / "study.key")
    features = f"speech={study / 'speech_features.tsv'}"
    args = ["share-features", str(study / "participants.tsv"), str(tmp_path / "out")]
    assert main([*args, "--features", features, "--key-file", str(key)]) == 0
    assert (tmp_path / "out" / "speech_features.tsv").is_file()
    assert "linkage_risk.json" in capsys.readouterr().out
