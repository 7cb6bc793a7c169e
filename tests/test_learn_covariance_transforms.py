"""`psymodal learn` without ``learn.transforms`` on covariance features asks for a choice.

The MRI stage's default (``mri.connectivity: tangent``) writes covariances; the workflow then
learns them in tangent space because ``learn.transforms`` follows ``mri.connectivity`` in the
whole config. A learn section given alone (the command line's ``--settings``, a script) does
not carry ``mri.connectivity``, so learning would silently differ from the workflow's.
"""

import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn.pipeline import run
from psymodal.learn.simulate import simulate_covariance_table, write_study

SETTINGS = {
    "permutation": {"n": 0},
    "explain": {"enabled": False},
    "added_value": False,
    "metrics": {"bootstrap": 0},
    "confounds": [],
    "fusion": [],
    "cv": {"folds": 3},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 12)
    table, _ = simulate_covariance_table(y, ["A", "B", "C", "D"], rng)
    ids = [f"sub-{i:02d}" for i in range(1, len(y) + 1)]
    participants = pd.DataFrame(
        {"participant_id": ids, "diagnosis": np.where(y, "patient", "control")}
    )
    features = {"mri": table.assign(participant_id=ids)[["participant_id", *table.columns]]}
    return write_study(participants, features, tmp_path_factory.mktemp("covariances"))


@pytest.mark.parametrize("settings", [None, SETTINGS])
def test_covariances_without_transforms_are_refused_with_both_choices(study, tmp_path, settings):
    ptsv, paths = study
    with pytest.raises(ValueError) as err:
        run(ptsv, paths, None, tmp_path / "out", settings)
    message = str(err.value)
    assert "mri features are covariances" in message
    assert "{mri: tangent}" in message and "{mri: null}" in message
    assert not (tmp_path / "out").exists()  # nothing written before the refusal


@pytest.mark.parametrize("transform", ["tangent", None])
def test_an_explicit_choice_learns(study, tmp_path, transform):
    ptsv, paths = study
    settings = {**SETTINGS, "transforms": {"mri": transform}}
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    metrics = read_tsv(written["metrics"])
    assert metrics["roc_auc"].notna().all()


def test_correlations_and_other_tables_need_no_choice(study, tmp_path):
    ptsv, paths = study
    table = read_tsv(paths["mri"])
    edges = [c for c in table.columns if "__" in c and c.split("__")[0] != c.split("__")[1]]
    no_diagonal = table[["participant_id", *edges]]
    path = tmp_path / "mri_features.tsv"
    no_diagonal.to_csv(path, sep="\t", index=False)
    written = run(ptsv, {"mri": path}, None, tmp_path / "out", SETTINGS)
    assert read_tsv(written["metrics"])["roc_auc"].notna().all()
