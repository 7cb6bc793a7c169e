"""Entry point of the learning stage: assemble, evaluate, write the tables."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path

import sklearn

from psymodal.io.tables import write_json, write_tsv
from psymodal.learn.assemble import SEP, assemble
from psymodal.learn.cross_validation import evaluate
from psymodal.learn.imputation import imputation_record
from psymodal.learn.paths import learn_outputs
from psymodal.learn.settings import resolve
from psymodal.workflow.threads import limit_threads


def differential_privacy(s: dict) -> dict[str, dict[str, float]]:
    """Model -> ``{"epsilon", "delta"}`` of each differentially private model the settings fit
    (the guarantee of every fitted model: each fold's and the final model's)."""
    private = {}
    if "dp_logistic" in s["models"]:  # psymodal.privacy.dp: objective perturbation, pure DP
        private["dp_logistic"] = {"epsilon": float(s["dp_logistic"]["epsilon"]), "delta": 0.0}
    if "intermediate" in s["fusion"] and s["torch"]["dp_epsilon"] is not None:
        private["dp_fusion_net"] = {  # psymodal.learn.fusion_torch: DP-SGD
            "epsilon": float(s["torch"]["dp_epsilon"]),
            "delta": float(s["torch"]["dp_delta"]),
        }
    return private


def run(
    participants_tsv: str | os.PathLike,
    feature_tables: Mapping[str, str | os.PathLike],
    qc_tables: Mapping[str, str | os.PathLike] | None,
    out_dir: str | os.PathLike,
    settings: Mapping | None,
) -> dict[str, Path]:
    """Assemble the study, cross-validate every analysis and write the result tables.

    Parameters
    ----------
    participants_tsv : path
    feature_tables : mapping of str to path
        Modality -> feature table (``participant_id`` + features).
    qc_tables : mapping of str to path, optional
        Modality -> QC table (``participant_id``, ``included``...).
    out_dir : path
    settings : mapping or None
        ``learn`` section of the configuration.

    Returns
    -------
    dict of str to Path
        ``metrics``, ``predictions``, ``exclusions``, ``calibration``, ``permutation_null``,
        ``membership_inference``, ``hyperparameters``, ``run_info`` and, when
        ``explain.enabled``, ``importance``.
    """
    # Single-threaded BLAS keeps the floats (hence the bytes) independent of the machine.
    _threads = limit_threads(1)  # noqa: F841 - the limit lasts while the controller lives
    s = resolve(settings)
    data = assemble(participants_tsv, feature_tables, qc_tables, s)
    if settings is None or "transforms" not in settings:
        _refuse_untransformed_covariances(data.blocks)
    explain = bool(s["explain"]["enabled"])
    files = learn_outputs(
        out_dir,
        explain,
        bool(s["added_value"]),
        bool(s["save_model"]),
        fusion_net="intermediate" in s["fusion"],
    )
    result = evaluate(data, s, keep_fitted=explain)
    paths = {
        "metrics": write_tsv(result.metrics, files["metrics"]),
        "predictions": write_tsv(result.predictions, files["predictions"]),
        "exclusions": write_tsv(data.exclusions, files["exclusions"]),
        "calibration": write_tsv(result.calibration, files["calibration"]),
        "permutation_null": write_tsv(result.null, files["permutation_null"]),
        "membership_inference": write_tsv(result.membership, files["membership_inference"]),
        "hyperparameters": write_tsv(result.hyperparameters, files["hyperparameters"]),
    }
    if s["added_value"]:
        from psymodal.learn.added_value import added_value_table, modality_permutation_null

        null, notes = modality_permutation_null(data, s)
        result.notes.extend(notes)
        table = added_value_table(result.predictions, s, null)
        paths["added_value"] = write_tsv(table, files["added_value"])
    if s["save_model"]:
        from psymodal.learn.final_model import fit_final, save_model

        paths.update(save_model(fit_final(data, s), out_dir, result.metrics))
    if explain:
        from psymodal.learn.explain import importance_table

        paths["importance"] = write_tsv(importance_table(data, result), files["importance"])
    info = {
        "settings": s,
        "notes": result.notes,
        "n_subjects": int(len(data.y)),
        "n_positive": int(data.y.sum()) if s["task"] == "classification" else None,
        "n_folds": result.n_folds,
        "modalities": {m: len(c) for m, c in data.blocks.items()},
        "available": {m: int(data.available[m].sum()) for m in data.modalities},
        # What the in-fold imputer filled (e.g. pause durations of pause-free clips).
        "imputation": imputation_record(data),
        # Versions, not timestamps or host names, so that reruns stay byte-identical.
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__},
    }
    if s["task"] == "multiclass":
        # the label value of each class code (y_true, the predictions' probability_<code>)
        info["classes"] = data.classes
    private = differential_privacy(s)
    if private:
        # the guarantee of every fitted DP model, for the report
        info["differential_privacy"] = private
    paths["run_info"] = write_json(info, files["run_info"])
    return paths


def _covariance_blocks(blocks: Mapping[str, list[str]]) -> list[str]:
    """Blocks whose columns are a connectome with its diagonal (``<block>__A__A``,
    ``<block>__A__B``...): covariances, as the MRI stage writes them for tangent space."""
    found = []
    for block, columns in blocks.items():
        prefix = f"{block}{SEP}"
        pairs = [c[len(prefix) :].split(SEP) for c in columns if c.startswith(prefix)]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            continue
        regions = {r for pair in pairs for r in pair}
        if {a for a, b in pairs if a == b} == regions:
            found.append(block)
    return found


def _refuse_untransformed_covariances(blocks: Mapping[str, list[str]]) -> None:
    """Settings without ``learn.transforms`` (e.g. a config's learn section, where it follows
    ``mri.connectivity``) on covariance features: the workflow would have learned them in
    tangent space, so learning from the raw covariances here would silently differ. Ask."""
    covariances = _covariance_blocks(blocks)
    if covariances:
        m = covariances[0]
        raise ValueError(
            f"learn: the {m} features are covariances (each region's variance `{m}__A__A` is a "
            f"column), and learn.transforms is not given: set learn.transforms: {{{m}: tangent}} "
            f"to learn in tangent space fitted in-fold (what the workflow does with "
            f"mri.connectivity: tangent), or {{{m}: null}} to learn from the covariances as "
            "they are"
        )
