"""The landing page shows each modality's added value over the confounds, with CI and p."""

from __future__ import annotations

import numpy as np
import pandas as pd
from docutils.core import publish_parts

from psymodal.learn.added_value import COLUMNS
from psymodal.report.study_summary import study_summary


def test_landing_page_shows_added_value_with_interval_and_permutation_p(tmp_path):
    metrics = pd.DataFrame(
        [
            {
                "model": "logistic",
                "modality": m,
                "n_subjects": 40,
                "n_positive": 20,
                "roc_auc": 0.7,
                "balanced_accuracy": 0.6,
            }
            for m in ("mri", "confounds")
        ]
    )
    rows = [
        ("mri", 0.81, 0.74, 0.02, 0.12, 0.05),
        ("speech", 0.73, 0.74, -0.06, 0.04, 0.6),
    ]
    added = pd.DataFrame(
        [
            {
                "model": "logistic",
                "modality": m,
                "metric": "roc_auc",
                "n_subjects": 40,
                "confounds_plus_modality": full,
                "confounds_alone": alone,
                "difference": full - alone,
                "difference_ci_low": low,
                "difference_ci_high": high,
                "p_bootstrap": 0.01,
                "n_permutations": 19,
                "p_value": p,
                "p_value_floor": 0.05,
            }
            for m, full, alone, low, high, p in rows
        ],
        columns=COLUMNS,
    )
    text = study_summary(metrics, {}, tmp_path / "study.rst", added_value=added).read_text()
    body = publish_parts(text.replace("{{", "").replace("}}", ""), writer_name="html")["body"]
    assert "Added value over the confounds" in body and body.count("<table") == 2
    assert "+0.070 [+0.020, +0.120]" in body and "-0.010 [-0.060, +0.040]" in body
    assert "≤ 0.05 (floor 1/(n+1), n = 19)" in body and "0.6 (n = 19)" in body
    # without the table (added_value off) the section is left out
    plain = study_summary(metrics, {}, tmp_path / "plain.rst", added_value=None).read_text()
    assert "Added value" not in plain and np.isfinite(added.p_value).all()
