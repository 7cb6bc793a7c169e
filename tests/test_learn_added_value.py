"""learn.added_value: confounds + modality against confounds alone, paired, out of fold."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.added_value import COLUMNS
from psymodal.learn.simulate import simulate_study, write_study

pytestmark = pytest.mark.usefixtures("one_thread")


def test_added_value_separates_an_informative_from_an_empty_modality(tmp_path):
    participants, features = simulate_study(
        60, n_features={"mri": 10, "speech": 6}, signal={"mri": 1.2}, n_sites=2, seed=7
    )
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {
        "added_value": True,
        "added_value_permutations": 0,  # tested in test_learn_added_value_permutation.py
        "metrics": {"bootstrap": 100},
        "confound_baseline": True,
        "cv": {"folds": 3, "nested": False},
        "fusion": [],
    }
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    table = read_tsv(written["added_value"]).set_index("modality")
    assert list(read_tsv(written["added_value"]).columns) == COLUMNS
    mri, speech = table.loc["mri"], table.loc["speech"]
    assert mri.metric == "roc_auc" and mri.n_subjects == 60
    assert mri.difference > 0.2 and mri.difference_ci_low > 0 and mri.p_bootstrap < 0.05
    # noise features add nothing (their extra variance can even cost a little)
    assert speech.difference_ci_low < 0 and speech.difference < 0.05 and speech.p_bootstrap > 0.5
    np.testing.assert_allclose(
        mri.confounds_alone, speech.confounds_alone
    )  # the same baseline on the same subjects
    metrics = read_tsv(written["metrics"])
    assert {"mri+confounds", "speech+confounds"} <= set(metrics.modality)
