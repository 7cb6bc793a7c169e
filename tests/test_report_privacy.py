"""The report's Privacy section: membership-attack AUCs per model, the DP guarantees and a plain
reading, as a figure with labelled axes and a table with headers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from psymodal.report import privacy as report_privacy
from psymodal.report.figures import write_report_figures
from psymodal.report.privacy import TABLE_HEADERS, privacy_figure, privacy_html, reading

DP = {"dp_logistic": {"epsilon": 3.0, "delta": 0.0}}


def _attacks(lira: bool = True) -> pd.DataFrame:
    """A generated membership_inference.tsv: a memorising model, a private one, a middling one."""
    rows = [
        ("logistic", "mri", 0.96, 0.04, 0.95, 1.00, 0.57),
        ("dp_logistic", "mri", 0.50, 0.06, 0.49, 0.51, 0.51),
        ("fusion_net", "intermediate_fusion", 0.60, 0.05, np.nan, 0.80, 0.55),
    ]
    table = pd.DataFrame(
        rows,
        columns=[
            "model",
            "modality",
            "attack_auc_mean",
            "attack_auc_sd",
            "lira_auc_mean",
            "train_auc_mean",
            "test_auc_mean",
        ],
    )
    table["lira_auc_sd"] = np.nan
    return table if lira else table.drop(columns=["lira_auc_mean", "lira_auc_sd"])


def test_reading_says_in_plain_words_whether_the_model_leaks():
    assert reading({"attack_auc_mean": 0.50, "lira_auc_mean": 0.51}).startswith("no leak")
    assert reading({"attack_auc_mean": 0.52, "lira_auc_mean": 0.60}).startswith("some leak")
    assert "do not share" in reading({"attack_auc_mean": 0.96, "lira_auc_mean": np.nan})
    assert "0.5 = no leak" in reading({"attack_auc_mean": 0.96})
    assert reading({"attack_auc_mean": np.nan}).startswith("not measured")


def test_table_has_headers_a_row_per_model_and_the_epsilon_of_dp_models(tmp_path):
    text = privacy_html(_attacks(), DP, tmp_path / "privacy.html").read_text()
    for header in TABLE_HEADERS:
        assert f"<th>{header}</th>" in text.replace("&#x27;", "'")
    assert text.count("<tr><td>") == 3
    assert "epsilon 3, delta 0" in text  # the DP model's guarantee
    assert text.count("not private") == 2
    assert "0.96 ± 0.04" in text and "0.95" in text  # loss and LiRA attack AUC
    assert "not computed" in text  # no LiRA for the fusion net
    # an older table without LiRA columns, and no audit at all
    older = privacy_html(_attacks(lira=False), {}, tmp_path / "older.html").read_text()
    assert older.count("not computed") == 3
    none = privacy_html(None, {}, tmp_path / "none.html").read_text()
    assert "no membership-inference audit" in none


def test_figure_has_labelled_axes_and_a_row_per_model(tmp_path, monkeypatch):
    drawn = []
    real_save = report_privacy.save_figure

    def _keep(fig, path):
        drawn.append(fig)
        return real_save(fig, path)

    monkeypatch.setattr(report_privacy, "save_figure", _keep)
    path = privacy_figure(_attacks(), DP, tmp_path / "privacy.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = drawn[0].axes[0]
    assert "membership attack AUC" in ax.get_xlabel() and "0.5 = no leak" in ax.get_xlabel()
    assert ax.get_ylabel() == "model · analysis"
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == 3 and any("epsilon 3" in t for t in ticks)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("LiRA" in t for t in legend) and any("no leak" in t for t in legend)
    # no audit: a figure that says so, still written (the workflow rule names it)
    empty = privacy_figure(None, {}, tmp_path / "empty.png")
    assert empty.is_file() and not drawn[-1].axes[0].axison


def test_report_figures_of_a_run_include_the_privacy_section(tmp_path):
    learn = tmp_path / "learn"
    learn.mkdir()
    _attacks().to_csv(learn / "membership_inference.tsv", sep="\t", index=False)
    (learn / "run_info.json").write_text(json.dumps({"differential_privacy": DP}))
    written = {p.name: p for p in write_report_figures(tmp_path)}
    assert {"privacy_attacks.png", "privacy_table.html"} <= set(written)
    assert "epsilon 3, delta 0" in written["privacy_table.html"].read_text()


@pytest.mark.slow
def test_the_demo_run_report_has_the_privacy_section(small_demo):
    from _helpers import run_dir

    figures = run_dir(small_demo) / "figures"
    table = (figures / "privacy_table.html").read_text()
    assert "logistic" in table and "reading (0.5 = no leak)" in table
    assert (figures / "privacy_attacks.png").is_file()
    manifest = (run_dir(small_demo) / "provenance" / "manifest.json").read_text()
    assert "privacy_attacks.png" in manifest and "privacy_table.html" in manifest
