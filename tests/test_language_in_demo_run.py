"""The demo run (the session's small demo, read only) learns from the language modality and
fuses it with the others."""

from __future__ import annotations

import pytest

from _helpers import run_dir, stage_dir
from psymodal.io.tables import read_tsv

pytestmark = pytest.mark.slow


def test_the_demo_run_learns_from_language_and_fuses_it(small_demo):
    metrics = read_tsv(run_dir(small_demo) / "learn" / "metrics.tsv")
    assert {"language", "late_fusion"} <= set(metrics["modality"])
    importance = read_tsv(run_dir(small_demo) / "learn" / "importance.tsv")
    blocks = importance[
        (importance["modality"] == "late_fusion") & (importance["level"] == "block")
    ]
    assert "language" in set(blocks["feature"])  # the fused prediction averages a language model
    qc = read_tsv(stage_dir(small_demo, "language") / "group" / "language_qc.tsv")
    included = qc[qc["included"].astype(bool)]
    assert len(included) >= 8
    # the demo configuration gives the interview's prompt: no "no prompt" note
    assert not included["notes"].dropna().astype(str).str.contains("tangentiality").any()
