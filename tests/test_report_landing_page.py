"""The report's landing page describes the study, and p-values are shown with their floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
from docutils.core import publish_parts

from psymodal.report.figures import p_value_text
from psymodal.report.study_summary import study_summary


def _metrics():
    rows = []
    for modality, auc, p in (("mri", 0.71, 0.05), ("speech", 0.55, 0.4), ("confounds", 0.6, 0.2)):
        rows.append(
            {
                "model": "logistic",
                "modality": modality,
                "n_subjects": 40,
                "n_positive": 20,
                "roc_auc": auc,
                "roc_auc_ci_low": auc - 0.1,
                "roc_auc_ci_high": auc + 0.1,
                "balanced_accuracy": 0.6,
                "n_permutations": 19,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows)


def test_p_values_show_their_floor():
    assert p_value_text({"p_value": 0.05, "n_permutations": 19}).startswith("≤ 0.05 (floor")
    assert p_value_text({"p_value": 0.4, "n_permutations": 19}) == "0.4 (n = 19)"
    assert p_value_text({"p_value": np.nan, "n_permutations": 0}) == "n/a"


def test_landing_page_says_who_was_included_and_each_model_against_the_baseline(tmp_path):
    qc = pd.DataFrame(
        {
            "participant_id": ["sub-01", "sub-02", "sub-03"],
            "included": [True, False, False],
            "reason": [np.nan, "mean FD 0.9 mm > 0.5 mm", "no file sub-*/[ses-*/]func/*_bold"],
        }
    )
    path = study_summary(_metrics(), {"mri": qc, "speech": None}, tmp_path / "study.rst")
    text = path.read_text()
    assert "**mri**: 1 of 3 participants included; excluded: mean FD 0.9 mm" in text
    assert 'snakemake.config["learn"]["confounds"]' in text  # filled by Snakemake's Jinja
    # baseline last; the page is valid reStructuredText with a table
    assert text.index("confounds (baseline)") > text.index("speech")
    body = publish_parts(text.replace("{{", "").replace("}}", ""), writer_name="html")["body"]
    assert "<table" in body and "≤ 0.05 (floor 1/(n+1), n = 19)" in body
    assert "no file sub-*/[ses-*/]func/*_bold (1)" in body  # QC reasons shown as written
