"""The permutation p of a modality given the confounds (learn.added_value_permutations)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.simulate import simulate_study, write_study

pytestmark = pytest.mark.usefixtures("one_thread")


def test_permuting_a_modality_rows_tests_it_given_the_confounds(tmp_path):
    participants, features = simulate_study(
        48, n_features={"mri": 8, "speech": 5}, signal={"mri": 1.2}, n_sites=2, seed=3
    )
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {
        "added_value": True,
        "added_value_permutations": 9,
        "metrics": {"bootstrap": 50},
        "cv": {"folds": 3},
        "fusion": [],
    }
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    table = read_tsv(written["added_value"]).set_index("modality")
    assert (table.n_permutations == 9).all()
    np.testing.assert_allclose(table.p_value_floor, 0.1)
    # the informative modality is at the floor, the noise one far from it
    assert table.loc["mri", "p_value"] == pytest.approx(0.1)
    assert table.loc["speech", "p_value"] > 0.2
    notes = json.loads(written["run_info"].read_text())["notes"]
    assert any("feature rows permuted within site" in n and "1/10" in n for n in notes)
