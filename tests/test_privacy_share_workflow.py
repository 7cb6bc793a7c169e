"""`snakemake share`: the feature tables of a run under the shareable copy's pseudonyms, with the
linkage risk measured on the run's own time series and recordings, and no identifier in them."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from _helpers import assert_succeeded, run_snakemake
from psymodal.privacy.pseudonyms import pseudonym, read_key
from psymodal.workflow.commands import share_features_command


def test_share_command_measures_on_the_stage_time_series_and_the_recordings():
    config = {"anonymize": {"key_file": None}, "speech": {"task": "reading"}}
    tables = {"mri": "results/mri-k/group/mri_features.tsv"}
    args = share_features_command(
        config, "p.tsv", tables, "results/shareable_features", "k.key", "results/mri-k", "bids"
    )
    assert args[:5] == [
        "share-features",
        "p.tsv",
        "results/shareable_features",
        "--key-file",
        "k.key",
    ]
    assert args[args.index("--features") + 1] == "mri=results/mri-k/group/mri_features.tsv"
    assert args[args.index("--timeseries-dir") + 1] == "results/mri-k"
    assert args[args.index("--recordings-dir") + 1] == "bids"
    assert json.loads(args[args.index("--speech-settings") + 1]) == {"task": "reading"}
    bare = share_features_command(config, "p.tsv", tables, "out", "k.key")
    assert "--timeseries-dir" not in bare and "--speech-settings" not in bare


@pytest.mark.slow
def test_snakemake_share_writes_pseudonymous_tables_with_measured_linkage(small_demo, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(small_demo, workdir, symlinks=True)
    result = run_snakemake(workdir, "share", cores=1)
    assert_succeeded(result, workdir)
    planned = result.stdout + result.stderr
    assert "rule share" in planned and "rule mri_batch" not in planned  # upstream reused
    shared = workdir / "results" / "shareable_features"
    key = workdir / "resources" / "demo.pseudonym.key"  # outside results
    assert key.is_file() and not list(shared.rglob("*.key"))

    original = pd.read_csv(workdir / "resources" / "demo" / "participants.tsv", sep="\t", dtype=str)
    ids = {p: f"sub-{pseudonym(p[4:], read_key(key))}" for p in original["participant_id"]}
    participants = pd.read_csv(shared / "participants.tsv", sep="\t", dtype=str)
    assert set(participants["participant_id"]) == set(ids.values())
    assert list(participants.columns) == ["participant_id", "diagnosis", "age", "sex", "site"]
    assert participants["age"].str.fullmatch(r"\d+-\d+|\d+\+|n/a").all()  # binned

    # PHI: no original id as a token, and nothing but numbers in the feature tables
    everything = "\n".join(p.read_text() for p in sorted(shared.iterdir()))
    assert not re.search(r"\bsub-(0[1-9]|1[0-2])\b", everything)
    assert str(workdir) not in everything and "resources/demo" not in everything
    for table in sorted(shared.glob("*_features.tsv")):
        features = pd.read_csv(table, sep="\t", dtype=str, keep_default_na=False)
        assert set(features["participant_id"]) <= set(ids.values()), table.name
        cells = features.drop(columns="participant_id").to_numpy().ravel()
        assert all(re.fullmatch(r"n/a|-?[0-9.e+-]+|-?inf", c) for c in cells), table.name

    risk = json.loads((shared / "linkage_risk.json").read_text())
    for modality, attack in (
        ("mri", "connectome fingerprinting"),
        ("speech", "speech feature linkage"),
    ):
        entry = risk["tables"][modality]
        assert entry["attack"] == attack
        halves = entry["this_study"]["split_halves"]
        assert halves["measured"] and 0 <= halves["top1"] <= 1 and halves["n_participants"] >= 3
        assert entry["this_study"]["measured_on"].startswith("this study")
        assert entry["published_benchmark"]["source"].startswith("benchmarks/RESULTS.md")


def test_share_features_refuses_a_key_inside_the_shared_folder(tmp_path, capsys):
    from psymodal.cli import main
    from psymodal.privacy.pseudonyms import write_key

    (tmp_path / "out").mkdir()
    key = write_key(tmp_path / "out" / "study.key")
    pd.DataFrame({"participant_id": ["sub-01"], "x": [1.0]}).to_csv(
        tmp_path / "f.tsv", sep="\t", index=False
    )
    args = ["share-features", str(tmp_path / "f.tsv"), str(tmp_path / "out")]
    assert main([*args, "--features", f"speech={tmp_path / 'f.tsv'}", "--key-file", str(key)]) == 2
    assert "may not lie inside the shared folder" in capsys.readouterr().err
