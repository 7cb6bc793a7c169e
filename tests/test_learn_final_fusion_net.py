"""learn.save_model with intermediate fusion: the torch network saved as a state_dict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from psymodal.learn import run
from psymodal.learn.final_model import load_model, predict_study
from psymodal.learn.simulate import simulate_study, write_study

pytestmark = pytest.mark.usefixtures("one_thread")


def test_fusion_net_is_saved_as_a_checked_state_dict(tmp_path):
    import torch

    participants, features = simulate_study(
        40, n_features={"mri": 6, "speech": 4}, signal={"mri": 1.5}, n_sites=2, seed=5
    )
    ptsv, paths = write_study(participants, features, tmp_path / "in")
    settings = {
        "save_model": True,
        "fusion": ["intermediate"],
        "cv": {"folds": 3},
        "metrics": {"bootstrap": 20},
        "torch": {"max_epochs": 15, "hidden": 8, "embedding": 4},
    }
    written = run(ptsv, paths, None, tmp_path / "learn", settings)
    info = json.loads(written["model_info"].read_text())
    assert ["fusion_net", "intermediate_fusion"] in info["analyses"]
    assert info["torch_file"] == "fusion_net.pt" and len(info["torch_sha256"]) == 64
    assert info["versions"]["torch"] == torch.__version__
    assert info["torch_sha256"] in written["model_card"].read_text()
    # plain tensors: loadable without running pickled code
    state = torch.load(written["fusion_net"], weights_only=True)
    assert set(state) == {"fusion_net/intermediate_fusion"}
    assert state["fusion_net/intermediate_fusion"]["dims"] == [6, 4]
    model = load_model(tmp_path / "learn")
    predictions, metrics, _ = predict_study(
        model, participants, {m: t for m, t in features.items()}
    )
    fused = predictions[predictions.modality == "intermediate_fusion"]
    assert len(fused) == 40 and fused.probability.between(0, 1).all()
    assert metrics.set_index("modality").loc["intermediate_fusion", "roc_auc"] > 0.7
    again = predict_study(load_model(tmp_path / "learn"), participants, features)[0]
    np.testing.assert_array_equal(again.probability, predictions.probability)
    # changed weights are refused
    with open(written["fusion_net"], "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ValueError, match="fusion_net.pt: SHA-256"):
        load_model(tmp_path / "learn")
