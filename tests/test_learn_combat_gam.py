"""learn.harmonize: combat_gam (ComBat with a spline age effect, through neuroHarmonize)."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.simulate import simulate_study, write_study

pytest.importorskip("neuroHarmonize")
pytestmark = pytest.mark.usefixtures("one_thread")


def _study(n=90, seed=0):
    """Three sites shifting the features; age acts on them non-linearly."""
    rng = np.random.default_rng(seed)
    site = np.resize(np.arange(3), n)
    age = rng.uniform(8, 70, n)
    X = rng.normal(size=(n, 6)) + np.sin(age / 10)[:, None] * 2 + 1.5 * site[:, None]
    return np.column_stack([X, site, age]), site, age


def test_combat_gam_removes_sites_and_keeps_the_age_curve():
    from psymodal.learn.harmonize_gam import ComBatGAM

    X, site, age = _study()
    gam = ComBatGAM(site_column=6, covariate_columns=(7,), smooth=(0,))
    train, test = np.arange(90) < 70, np.arange(90) >= 70
    out = gam.fit(X[train]).transform(X[test])
    assert out.shape == (20, 6)
    site_means = [out[site[test] == k, 0].mean() for k in range(3)]
    assert np.ptp(site_means) < 0.6 < np.ptp([X[test][site[test] == k, 0].mean() for k in range(3)])
    assert np.corrcoef(out[:, 0], np.sin(age[test] / 10))[0, 1] > 0.5  # age effect protected
    # an unseen site is left as it is, and said
    X_new = X[test].copy()
    X_new[:, 6] = 9
    with pytest.warns(UserWarning, match="unseen in fit left unharmonised"):
        np.testing.assert_array_equal(gam.transform(X_new), X_new[:, :6])


def test_combat_gam_runs_in_the_cross_validation(tmp_path):
    participants, features = simulate_study(
        60, n_features={"mri": 6}, signal={"mri": 1.0}, n_sites=3, site_shift=1.0, seed=4
    )
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {"harmonize": "combat_gam", "cv": {"folds": 3}, "metrics": {"bootstrap": 0}}
    written = run(ptsv, paths, None, tmp_path / "out", settings)
    metrics = read_tsv(written["metrics"]).set_index("modality")
    assert metrics.loc["mri", "roc_auc"] > 0.6
    with pytest.raises(ValueError, match=r"learn.combat.smooth \['bmi'\]"):
        run(ptsv, paths, None, tmp_path / "x", {**settings, "combat": {"smooth": ["bmi"]}})


def test_neuroharmonize_prints_nothing_on_stdout(capsys):
    """neuroHarmonize prints its progress; psymodal's stdout is the CLI's output channel."""
    from psymodal.learn.harmonize_gam import ComBatGAM

    X, _, _ = _study()
    one_feature = X[:, [0, 6, 7]]  # neuroHarmonize prints that it skips empirical Bayes
    ComBatGAM(site_column=1, covariate_columns=(2,), smooth=(0,)).fit(one_feature)
    assert capsys.readouterr().out == ""
