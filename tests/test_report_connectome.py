"""Connectome report figures: top edges, region importance, placeholders, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from psymodal.cli import main
from psymodal.io.tables import write_tsv
from psymodal.report.connectome import (
    FIGURE_NAMES,
    connectome_edges,
    region_importance,
    write_connectome_figures,
)

REGIONS = ["PCC_M01", "mPFC_M02", "Ins_L03", "Ins_R04", "V1_L05", "V1_R06"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def atlas_tsv(tmp_path):
    atlas = pd.DataFrame(
        {
            "index": range(1, 7),
            "name": REGIONS,
            "network": ["default", "default", "salience", "salience", "visual", "visual"],
            "x": [0.0, 0.0, -38.0, 38.0, -10.0, 10.0],
            "y": [-52.0, 50.0, 5.0, 5.0, -90.0, -90.0],
            "z": [26.0, 10.0, 2.0, 2.0, 0.0, 0.0],
        }
    )
    return write_tsv(atlas, tmp_path / "atlas-toy_dseg.tsv")


def _importance(with_edges: bool = True) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    if with_edges:
        for model in ("logistic", "svm"):
            for a, b in itertools.combinations(REGIONS, 2):
                rows.append(
                    {
                        "model": model,
                        "modality": "mri",
                        "level": "feature",
                        "feature": f"mri__{a}__{b}",
                        "importance_mean": np.nan,
                        "coef_mean": float(rng.normal()),
                        "n_folds": 5,
                    }
                )
    rows.append(
        {
            "model": "logistic",
            "modality": "speech",
            "level": "feature",
            "feature": "speech__f0_mean",
            "importance_mean": 0.01,
            "coef_mean": 0.4,
            "n_folds": 5,
        }
    )
    rows.append(
        {
            "model": "logistic",
            "modality": "early_fusion",
            "level": "block",
            "feature": "speech",
            "importance_mean": 0.02,
            "coef_mean": np.nan,
            "n_folds": 5,
        }
    )
    return pd.DataFrame(rows)


def test_edges_and_region_sums(atlas_tsv):
    atlas = pd.read_csv(atlas_tsv, sep="\t")
    table = _importance()
    edges = connectome_edges(table, atlas)
    assert len(edges) == 15 and set(edges.model) == {"logistic"}
    assert set(edges.modality) == {"mri"}
    values = region_importance(edges, atlas)
    logistic = table.query("model == 'logistic' and modality == 'mri'")
    expected = logistic[logistic.feature.str.contains("PCC_M01")].coef_mean.abs().sum()
    assert values["PCC_M01"] == pytest.approx(expected)
    assert values.sum() == pytest.approx(2 * logistic.coef_mean.abs().sum())
    assert len(connectome_edges(table, atlas, model="svm")) == 15
    assert connectome_edges(_importance(False), atlas).empty


def test_figures_written_and_byte_identical(tmp_path, atlas_tsv):
    importance = write_tsv(_importance(), tmp_path / "importance.tsv")
    first = write_connectome_figures(importance, atlas_tsv, tmp_path / "a", top_k=5)
    second = write_connectome_figures(importance, atlas_tsv, tmp_path / "b", top_k=5)
    assert [p.name for p in first] == list(FIGURE_NAMES)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes()[:8] == PNG and a.stat().st_size > 5000
        assert a.read_bytes() == b.read_bytes()
    # the placeholder differs from a real figure
    empty = write_tsv(_importance(False), tmp_path / "empty.tsv")
    placeholder = write_connectome_figures(empty, atlas_tsv, tmp_path / "c")
    assert placeholder[0].read_bytes() != first[0].read_bytes()


def test_placeholder_without_edges_or_atlas(tmp_path, atlas_tsv):
    empty = write_tsv(_importance(False), tmp_path / "importance.tsv")
    once = write_connectome_figures(empty, atlas_tsv, tmp_path / "a")
    again = write_connectome_figures(empty, tmp_path / "missing.tsv", tmp_path / "b")
    assert [p.name for p in once] == list(FIGURE_NAMES)
    for a, b in zip(once, again, strict=True):
        assert a.read_bytes()[:8] == PNG
        assert a.read_bytes() == b.read_bytes()


def test_cli(tmp_path, atlas_tsv, capsys):
    run = tmp_path / "run"
    write_tsv(_importance(), run / "learn" / "importance.tsv")
    out = tmp_path / "figures"
    code = main(
        ["connectome-figures", str(run), "--atlas-labels", str(atlas_tsv), "--out-dir", str(out)]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FIGURE_NAMES)
    assert str(out / FIGURE_NAMES[0]) in capsys.readouterr().out
    missing = main(["connectome-figures", str(tmp_path / "nope"), "--out-dir", str(out)])
    assert missing == 2
