"""File names of the learning stage's outputs: the one place they are decided.

The stage writes into ``<run>/learn/``::

    metrics.tsv                 one row per (model, modality) with bootstrap intervals
    predictions.tsv             out-of-fold probabilities
    exclusions.tsv              participants left out, with the reason
    calibration.tsv             reliability-diagram bins
    permutation_null.tsv        the label-permutation null distribution
    membership_inference.tsv    the membership-inference (privacy) audit
    hyperparameters.tsv         nested CV: inner score of every grid value per outer fold
    added_value.tsv             confounds + modality vs confounds alone (only with added_value)
    model.joblib, model.json, model_card.md   the final model (only with save_model)
    fusion_net.pt               its torch fusion network's state_dict (save_model + intermediate)
    importance.tsv              feature importance (only with ``explain.enabled``)
    run_info.json               effective settings, notes, counts and versions

:func:`psymodal.learn.pipeline.run`, the report and the workflow rules all take the names from
here. Only the standard library is imported.
"""

from __future__ import annotations

from pathlib import Path

#: The stage's folder inside a run folder.
LEARN_FOLDER = "learn"

#: ``psymodal predict``'s outputs: key -> file name (``metrics`` is empty without labels).
PREDICT_FILES = {
    "predictions": "predictions.tsv",
    "metrics": "metrics.tsv",
    "notes": "notes.txt",
}

#: Output key -> file name, in the order :func:`psymodal.learn.pipeline.run` returns them.
FILE_NAMES = {
    "metrics": "metrics.tsv",
    "predictions": "predictions.tsv",
    "exclusions": "exclusions.tsv",
    "calibration": "calibration.tsv",
    "permutation_null": "permutation_null.tsv",
    "membership_inference": "membership_inference.tsv",
    "hyperparameters": "hyperparameters.tsv",
    "added_value": "added_value.tsv",
    "model": "model.joblib",
    "model_info": "model.json",
    "model_card": "model_card.md",
    "fusion_net": "fusion_net.pt",
    "importance": "importance.tsv",
    "run_info": "run_info.json",
}

#: Written only when ``explain.enabled`` (importance) or ``added_value`` (added_value).
OPTIONAL = ("importance", "added_value", "model", "model_info", "model_card", "fusion_net")


def learn_dir(run_dir) -> Path:
    """``<run>/learn``: the learning stage's folder of a run."""
    return Path(run_dir) / LEARN_FOLDER


def learn_file(out_dir, key: str) -> Path:
    """The output ``key`` (a key of :data:`FILE_NAMES`) inside the stage folder ``out_dir``."""
    return Path(out_dir) / FILE_NAMES[key]


def run_file(run_dir, key: str) -> Path:
    """The output ``key`` of the learning stage of the run folder ``run_dir``."""
    return learn_file(learn_dir(run_dir), key)


def learn_outputs(
    out_dir,
    explain: bool = False,
    added_value: bool = False,
    save_model: bool = False,
    fusion_net: bool = False,
) -> dict[str, Path]:
    """Every file the stage writes into ``out_dir`` (``importance`` only with ``explain``,
    ``added_value`` with ``added_value``, the model files with ``save_model``, and
    ``fusion_net`` with ``save_model`` and intermediate fusion: pass ``fusion_net`` for it)."""
    wanted = {
        "importance": explain,
        "added_value": added_value,
        "model": save_model,
        "model_info": save_model,
        "model_card": save_model,
        "fusion_net": save_model and fusion_net,
    }
    return {key: learn_file(out_dir, key) for key in FILE_NAMES if key not in wanted or wanted[key]}


def predict_dir(run_dir, model) -> Path:
    """``<run>/predict/model-<key>``: a saved model's predictions for the run's study, the key
    a hash of the model's path (so that two models never share a folder)."""
    import hashlib

    key = hashlib.sha256(str(model).encode()).hexdigest()[:10]
    return Path(run_dir) / "predict" / f"model-{key}"


def predict_outputs(out_dir) -> dict[str, Path]:
    """The files ``psymodal predict`` writes into ``out_dir``."""
    return {key: Path(out_dir) / name for key, name in PREDICT_FILES.items()}
