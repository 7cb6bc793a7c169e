"""Tangent space by default: mri.connectivity and learn.transforms follow each other, and the
explanations of a tangent-space model name its tangent edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymodal.learn import assemble, evaluate
from psymodal.learn.explain import importance_table
from psymodal.learn.settings import resolve
from psymodal.learn.simulate import simulate_covariance_table
from psymodal.settings import SettingsError, defaults, resolve_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_tangent_is_the_default_and_brings_its_in_fold_transform():
    config = resolve_config({})
    assert defaults("mri")["connectivity"] == "tangent"
    assert config["learn"]["transforms"] == {"mri": "tangent"}
    assert resolve_config(config) == config


def test_correlation_learns_from_its_features_as_they_are():
    config = resolve_config({"mri": {"connectivity": "correlation"}})
    assert config["learn"]["transforms"] == {}
    assert resolve_config(config) == config  # the recorded {} stays {}


def test_explicit_transforms_are_kept_or_refused():
    raw = resolve_config({"learn": {"transforms": {"mri": None}}})
    assert raw["learn"]["transforms"] == {"mri": None}  # the raw covariances, on purpose
    with pytest.raises(SettingsError, match="needs mri.connectivity: tangent"):
        resolve_config(
            {"mri": {"connectivity": "correlation"}, "learn": {"transforms": {"mri": "tangent"}}}
        )
    with pytest.raises(SettingsError, match="learn.transforms.mri"):
        resolve_config({"learn": {"transforms": {"mri": "tangnet"}}})


def test_tangent_model_coefficients_name_the_tangent_edges():
    """The coefficients of a tangent-space model weigh i < j tangent edges (not the input
    covariances with their diagonal); the planted coupling R0-R1 ranks first."""
    regions = [f"R{k}" for k in range(5)]
    rng = np.random.default_rng(0)
    y = np.arange(64) % 2
    table, _ = simulate_covariance_table(y, regions, rng, coupling=0.6)
    ids = [f"sub-{k:03d}" for k in range(64)]
    table.insert(0, "participant_id", ids)
    participants = pd.DataFrame(
        {"participant_id": ids, "diagnosis": np.where(y, "patient", "control")}
    )
    data = assemble(participants, {"mri": table}, None, {})
    s = resolve(
        {
            "transforms": {"mri": "tangent"},
            "metrics": {"bootstrap": 0},
            "confound_baseline": False,
            "cv": {"folds": 4},
            "explain": {"max_features": 0},
        }
    )
    table = importance_table(data, evaluate(data, s, keep_fitted=True))
    coefs = table.query("modality == 'mri' and level == 'feature'").dropna(subset=["coef_mean"])
    assert len(coefs) == 10  # 5 regions: 10 i < j edges, no diagonal
    assert not any(a == b for a, b in (f.split("__")[1:] for f in coefs.feature))
    assert coefs.loc[coefs.coef_mean.abs().idxmax(), "feature"] == "mri__R0__R1"
    assert coefs.shap_mean_abs.notna().all()
