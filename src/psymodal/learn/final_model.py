"""The final model: fitted on every included subject, saved, and applied to another study.

After cross-validation (which estimates how well the procedure generalises), ``learn.save_model``
fits the same procedure once on all included subjects: for every model, each modality block,
the confound baseline and the torch fusion network (intermediate fusion), with the
hyper-parameters chosen by the same inner search. The fitted scikit-learn estimators go to
``model.joblib``; the fusion network's weights go to ``fusion_net.pt`` as a ``state_dict``
(read back with ``torch.load(weights_only=True)``, which runs no code), its architecture
settings staying with the estimator; ``model.json`` holds everything a reader needs without
unpickling (settings, feature names, covariate levels, chosen values, versions and the SHA-256
of both files), and ``model_card.md`` the model card.

:func:`predict_study` applies a saved model to another study's tables. It refuses feature
tables whose columns differ from the training features (another atlas, another feature set),
and handles sites unseen in training explicitly: the confound model gives them the reference
level (all site indicators 0) and ComBat applies ``learn.combat.unseen_site``; both are
recorded in the returned notes.

Only load models you trust: joblib files are pickles and run code when loaded. The checksum
check catches a corrupted or replaced file, not a malicious author.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn

from psymodal.io.tables import read_tsv, write_json, write_tsv
from psymodal.learn.assemble import COVARIATE_PREFIX, ID, SEP, StudyData
from psymodal.learn.cross_validation import _fit, build_estimator, plan_analyses
from psymodal.learn.metrics import binary_metrics, regression_metrics
from psymodal.learn.paths import FILE_NAMES

MODEL_FILE = FILE_NAMES["model"]
INFO_FILE = FILE_NAMES["model_info"]
CARD_FILE = FILE_NAMES["model_card"]
#: Analyses a final model keeps (fusions are recombined from the blocks at prediction time).
KINDS = ("block", "confounds", "mean", "intermediate")
TORCH_FILE = FILE_NAMES["fusion_net"]
FORMAT = 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fit_final(data: StudyData, s: dict) -> dict:
    """Fit every block and confound analysis on all included subjects.

    Returns
    -------
    dict
        ``estimators`` ((model, modality) -> fitted estimator), ``info`` (JSON-ready
        description: feature names, covariates and their levels, chosen hyper-parameters).
    """
    X = data.X.to_numpy(dtype=float)
    avail = data.available
    estimators, chosen = {}, []
    seed = s["cv"]["seed"]
    for analysis in plan_analyses(data, s):
        if analysis.kind not in KINDS:
            continue
        rows = (
            np.flatnonzero(avail[analysis.block].to_numpy())
            if analysis.kind == "block"
            else np.arange(len(data.y))
        )
        estimator, choices = _fit(
            build_estimator(analysis, data, s, seed),
            analysis,
            X[rows],
            data.y[rows],
            s,
            seed,
            site=None if data.site is None else data.site[rows],
            groups=None if data.groups is None else data.groups[rows],
        )
        estimators[(analysis.model, analysis.modality)] = estimator
        for c in choices:
            if c["chosen"]:
                chosen.append({"model": analysis.model, "modality": analysis.modality, **c})
    # value -> code as assembled (codes follow the sorted values of the whole labelled
    # table, so they are read back from the pairs rather than recomputed)
    codes = {}
    for c in data.categorical:
        pairs = pd.DataFrame(
            {
                "value": data.participants[c[len(COVARIATE_PREFIX) :]].astype(str).to_numpy(),
                "code": data.X[c].to_numpy(),
            }
        ).dropna()
        codes[c] = {str(v): float(k) for v, k in sorted(set(map(tuple, pairs.to_numpy())))}
    info = {
        "format": FORMAT,
        "task": s["task"],
        "columns": list(data.X.columns),
        "blocks": data.blocks,
        "covariates": data.covariates,
        "categorical_codes": codes,
        "training_sites": sorted(set(data.site)) if data.site is not None else [],
        "n_subjects": int(len(data.y)),
        "analyses": [list(k) for k in estimators],
        "chosen_hyperparameters": chosen,
        "settings": s,
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
    }
    return {"estimators": estimators, "info": info}


def _fusion_net(estimator):
    """The torch fusion classifier of ``estimator`` (itself or a Pipeline's last step)."""
    last = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return last if type(last).__name__ == "FusionNetClassifier" else None


def _split_torch(estimators: dict) -> tuple[dict, dict]:
    """Estimators without their torch networks, and each network's state by analysis."""
    import copy

    plain, nets = {}, {}
    for key, estimator in estimators.items():
        if _fusion_net(estimator) is None:
            plain[key] = estimator
            continue
        nets["/".join(key)] = _fusion_net(estimator).net_state()
        estimator = copy.deepcopy(estimator)
        del _fusion_net(estimator).net_  # the weights go to fusion_net.pt, not the pickle
        plain[key] = estimator
    return plain, nets


def save_model(final: dict, out_dir: str | os.PathLike, metrics: pd.DataFrame) -> dict[str, Path]:
    """Write ``model.joblib`` (atomically), ``fusion_net.pt`` with intermediate fusion,
    ``model.json`` with their checksums and the card."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    estimators, nets = _split_torch(final["estimators"])
    target = out / MODEL_FILE
    tmp = out / f".{MODEL_FILE}.tmp"
    joblib.dump(estimators, tmp)
    os.replace(tmp, target)
    info = {**final["info"], "model_file": MODEL_FILE, "sha256": _sha256(target)}
    paths = {"model": target}
    if nets:
        import torch

        torch_target = out / TORCH_FILE
        tmp = out / f".{TORCH_FILE}.tmp"
        torch.save(nets, tmp)
        os.replace(tmp, torch_target)
        info["torch_file"] = TORCH_FILE
        info["torch_sha256"] = _sha256(torch_target)
        info["versions"] = {**info["versions"], "torch": torch.__version__}
        paths["fusion_net"] = torch_target
    paths["model_info"] = write_json(info, out / INFO_FILE)
    card = out / CARD_FILE
    tmp = out / f".{CARD_FILE}.tmp"
    tmp.write_text(model_card(info, metrics))
    os.replace(tmp, card)
    paths["model_card"] = card
    return paths


def model_card(info: dict, metrics: pd.DataFrame) -> str:
    """The model card (Mitchell et al. 2019, abridged): data, metrics with CIs, use, limits."""
    regression = info["task"] == "regression"
    metric = "pearson_r" if regression else "roc_auc"
    lines = [
        "# Model card (psymodal)",
        "",
        "## Model",
        f"- Task: {info['task']} of `{info['settings']['label_column']}`"
        + ("" if regression else f" == `{info['settings']['positive_label']}`"),
        f"- Analyses: {', '.join('/'.join(a) for a in info['analyses'])}",
        f"- Fitted on {info['n_subjects']} included subjects; sites: "
        f"{', '.join(info['training_sites']) or 'not recorded'}",
        f"- Harmonisation: {info['settings']['harmonize']}; transforms: "
        f"{info['settings']['transforms'] or 'none'}",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in info['versions'].items())}",
        f"- File: `{info['model_file']}`, SHA-256 `{info['sha256']}`",
        *(
            [
                f"- Fusion network weights (torch state_dict): `{info['torch_file']}`, "
                f"SHA-256 `{info['torch_sha256']}`"
            ]
            if "torch_file" in info
            else []
        ),
        "",
        "## Data",
        f"- {info['n_subjects']} included subjects of the training study, label "
        f"`{info['settings']['label_column']}`",
        "- Features: "
        + ", ".join(f"{m} ({len(columns)})" for m, columns in info["blocks"].items()),
        "- Confounds: "
        + (", ".join(c[len(COVARIATE_PREFIX) :] for c in info["covariates"]) or "none"),
        "",
        f"## Cross-validated performance ({metric}, 95% bootstrap CI)",
        "",
        "| model | modality | n | estimate | CI |",
        "|---|---|---|---|---|",
    ]
    for row in metrics.itertuples():
        lines.append(
            f"| {row.model} | {row.modality} | {row.n_subjects} | {getattr(row, metric):.3f} | "
            f"[{getattr(row, f'{metric}_ci_low'):.3f}, {getattr(row, f'{metric}_ci_high'):.3f}] |"
        )
    lines += [
        "",
        "## Intended use",
        "Research only: replication of the cross-validated result in another study. Not for",
        "clinical decisions about individuals.",
        "",
        "## Limits",
        "- Performance is estimated on the training study's population, sites and scanners;",
        "  expect less on others (`psymodal predict` measures it when the labels are known).",
        "- Sites unseen in training get no site correction (confound model: reference level;",
        "  ComBat: the `learn.combat.unseen_site` rule).",
        "- Features must be computed exactly as in training (same atlas, same feature set);",
        "  `psymodal predict` refuses other columns.",
        "- Privacy: models with many features can memorise their training subjects (see",
        "  `learn/membership_inference.tsv`); share the model only as the data agreements allow.",
        "",
    ]
    return "\n".join(lines)


def load_model(path: str | os.PathLike) -> dict:
    """Load ``model.joblib`` (or the folder holding it) and, with intermediate fusion, the
    network weights of ``fusion_net.pt``, after checking their SHA-256.

    Raises
    ------
    ValueError
        When the file's checksum differs from the one recorded in ``model.json``.
    """
    folder = _model_folder(path)
    info = json.loads((folder / INFO_FILE).read_text())
    model = folder / info["model_file"]
    files = [(model, info["sha256"])]
    if "torch_file" in info:
        files.append((folder / info["torch_file"], info["torch_sha256"]))
    for path, recorded in files:
        actual = _sha256(path)
        if actual != recorded:
            raise ValueError(
                f"{path}: SHA-256 {actual} differs from the {recorded} recorded in "
                f"{folder / INFO_FILE}: the model file was changed or corrupted; refusing to "
                "load it"
            )
    estimators = joblib.load(model)
    if "torch_file" in info:
        import torch

        nets = torch.load(folder / info["torch_file"], weights_only=True)
        for key, state in nets.items():
            _fusion_net(estimators[tuple(key.split("/", 1))]).load_net_state(state)
    return {"estimators": estimators, "info": info}


def _study_matrix(
    info: dict, participants: pd.DataFrame, features: dict, qc: dict | None, notes: list[str]
):
    """The new study on the training columns (order included); refuses foreign features."""
    participants = participants.copy()
    participants[ID] = participants[ID].astype(str)
    participants = participants.sort_values(ID, kind="stable").reset_index(drop=True)
    ids = participants[ID]
    X = pd.DataFrame(index=pd.Index(ids, name=ID))
    available = pd.DataFrame(index=X.index)
    unknown = sorted(set(features) - set(info["blocks"]))
    if unknown:
        raise ValueError(
            f"feature tables {unknown} are not modalities of the model {sorted(info['blocks'])}"
        )
    absent = [m for m in info["blocks"] if m not in features]
    if absent:
        # every analysis of the model reads every block's columns (fusion, and the study
        # matrix), so a partial study would give fusion rows that are one modality alone
        raise ValueError(
            f"the study has no feature table for {absent} ({', '.join(_table_names(absent))}); "
            f"the model was trained on {sorted(info['blocks'])}. Compute the missing "
            "modality's features as in training (same settings, atlas and feature set), or "
            "apply a model trained without it"
        )
    for modality, columns in info["blocks"].items():
        table = features[modality].copy()
        table[ID] = table[ID].astype(str)
        names = [f"{modality}{SEP}{c}" for c in table.columns if c != ID]
        missing = sorted(set(columns) - set(names))
        extra = sorted(set(names) - set(columns))
        if missing or extra:
            strip = len(modality) + len(SEP)
            raise ValueError(
                f"feature table '{modality}' does not match the model: {len(missing)} trained "
                f"feature(s) missing (e.g. {[m[strip:] for m in missing[:3]]}), {len(extra)} "
                f"unknown (e.g. {[e[strip:] for e in extra[:3]]}). Compute the features as in "
                "training (same atlas, same feature set)"
            )
        values = table.set_index(ID)
        values.columns = names
        values = values.reindex(ids)[columns].astype(float)
        if qc and modality in qc:
            table_qc = qc[modality].copy()
            excluded = set(
                table_qc.loc[
                    ~table_qc["included"].astype(str).str.lower().isin(["true", "1"]), ID
                ].astype(str)
            )
            values.loc[values.index.isin(excluded), :] = np.nan
        available[modality] = values.notna().any(axis=1).to_numpy()
        X = pd.concat([X, values], axis=1)
    for column in info["covariates"]:
        name = column[len(COVARIATE_PREFIX) :]
        if name not in participants:
            notes.append(f"covariate '{name}' absent: missing (imputed by the model)")
            X[column] = np.nan
            continue
        values = participants[name]
        if column in info["categorical_codes"]:
            codes = dict(info["categorical_codes"][column])
            unseen = sorted(set(values.dropna().astype(str)) - set(codes))
            if unseen:
                notes.append(
                    f"{name} values unseen in training {unseen}: confound model at the reference "
                    "level (indicators 0)"
                )
            top = max(codes.values(), default=-1.0)
            codes.update({v: top + 1.0 + i for i, v in enumerate(unseen)})
            X[column] = [np.nan if pd.isna(v) else codes[str(v)] for v in values]
        else:
            X[column] = pd.to_numeric(values, errors="coerce").to_numpy()
    return X[info["columns"]], available, participants


def _table_names(modalities: list[str]) -> list[str]:
    return [f"{m}_features.tsv" for m in modalities]


def predict_study(
    model: dict,
    participants: pd.DataFrame,
    features: dict[str, pd.DataFrame],
    qc: dict[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Apply a saved model to another study.

    Parameters
    ----------
    model : dict
        From :func:`load_model`.
    participants : DataFrame
        ``participant_id``, the covariates and, when known, the label column.
    features : dict of str to DataFrame
        Modality -> feature table, with exactly the training features.
    qc : dict of str to DataFrame, optional
        Modality -> QC table (``included`` false: the modality is missing for that subject).

    Returns
    -------
    predictions : DataFrame
        ``participant_id``, ``modality``, ``model``, ``y_true`` (NaN without labels) and
        ``probability`` (``prediction`` for regression); late fusion averages the blocks.
    metrics : DataFrame
        Per analysis, when the labels are known: ROC AUC, balanced accuracy (or r, R², MAE).
    notes : list of str
        Unseen sites, missing covariates.

    Raises
    ------
    ValueError
        A modality of the model without a feature table, or a table with other features.
    """
    info, estimators = model["info"], model["estimators"]
    s = info["settings"]
    regression = info["task"] == "regression"
    notes: list[str] = []
    X, available, participants = _study_matrix(info, participants, features, qc, notes)
    if s["site_column"] in participants:
        unseen = sorted(
            set(participants[s["site_column"]].astype(str)) - set(info["training_sites"])
        )
        if unseen:
            rule = {
                "combat": s["combat"]["unseen_site"],
                "combat_gam": "left unharmonised",
            }.get(s["harmonize"], "none needed")
            notes.append(
                f"sites unseen in training: {unseen}; harmonisation {s['harmonize']} "
                f"(unseen-site rule: {rule})"
            )
    y = None
    label = s["label_column"]
    if label in participants:
        if regression:
            y = pd.to_numeric(participants[label], errors="coerce").to_numpy()
        else:
            known = participants[label].notna()
            y = np.where(known, (participants[label].astype(str) == s["positive_label"]), np.nan)
    column = "prediction" if regression else "probability"
    values = X.to_numpy(dtype=float)
    rows, blocks = [], {}
    for (name, modality), estimator in estimators.items():
        where = available[modality].to_numpy() if modality in available else np.ones(len(X), bool)
        if not where.any():
            continue
        out = (
            estimator.predict(values[where])
            if regression
            else estimator.predict_proba(values[where])[:, 1]
        )
        series = pd.Series(out, index=np.flatnonzero(where))
        if modality in info["blocks"]:
            blocks.setdefault(name, {})[modality] = series
        rows.append((name, modality, series))
    for name, per_block in blocks.items():
        if len(info["blocks"]) > 1 and "late" in s["fusion"]:
            mean = pd.concat(per_block.values(), axis=1).mean(axis=1).sort_index()
            rows.append((name, "late_fusion", mean))
    tables = [
        pd.DataFrame(
            {
                ID: X.index.to_numpy()[series.index],
                "modality": modality,
                "model": name,
                "y_true": np.nan if y is None else y[series.index],
                column: series.to_numpy(),
            }
        )
        for name, modality, series in rows
    ]
    predictions = pd.concat(tables, ignore_index=True)
    metrics = []
    if y is not None:
        for (name, modality), group in predictions.groupby(["model", "modality"], sort=False):
            group = group.dropna(subset=["y_true"])
            score = (
                regression_metrics(group.y_true, group.prediction)
                if regression
                else binary_metrics(group.y_true.astype(int), group.probability)
            )
            metrics.append({"model": name, "modality": modality, "n_subjects": len(group), **score})
    return predictions, pd.DataFrame(metrics), notes


def predict_folder(
    model_path: str | os.PathLike, study: str | os.PathLike, out_dir: str | os.PathLike
) -> dict[str, Path]:
    """``psymodal predict MODEL STUDY``: a saved model applied to a study folder.

    The study folder holds ``participants.tsv``, ``<modality>_features.tsv`` for the model's
    modalities and optionally ``<modality>_qc.tsv``; see :func:`predict_tables`.
    """
    info = json.loads((_model_folder(model_path) / INFO_FILE).read_text())
    study = Path(study)
    features, qc = {}, {}
    for modality in info["blocks"]:
        path = study / f"{modality}_features.tsv"
        if path.is_file():
            features[modality] = path
        qc_path = study / f"{modality}_qc.tsv"
        if qc_path.is_file():
            qc[modality] = qc_path
    return predict_tables(model_path, study / "participants.tsv", features, qc, out_dir)


def _model_folder(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path if path.is_dir() else path.parent


def predict_tables(
    model_path: str | os.PathLike,
    participants_tsv: str | os.PathLike,
    features: dict[str, str | os.PathLike],
    qc: dict[str, str | os.PathLike] | None,
    out_dir: str | os.PathLike,
) -> dict[str, Path]:
    """A saved model applied to a study's tables (``psymodal predict``, ``snakemake predict``).

    Writes :data:`~psymodal.learn.paths.PREDICT_FILES` into ``out_dir``: ``predictions.tsv``,
    ``metrics.tsv`` (no rows when the labels are unknown) and ``notes.txt`` (sites unseen in
    training and how they were handled, missing covariates, tables not used).

    Raises
    ------
    ValueError
        A modality of the model without a feature table (named, with what to do), features
        other than the model's, or a model file whose checksum differs from ``model.json``.
    """
    from psymodal.learn.paths import predict_outputs

    model = load_model(model_path)
    ignored = sorted(set(features) - set(model["info"]["blocks"]))
    features = {m: p for m, p in features.items() if m in model["info"]["blocks"]}
    participants = read_tsv(participants_tsv, dtype={ID: str})
    tables = {m: read_tsv(p, dtype={ID: str}) for m, p in features.items()}
    qc_tables = {m: read_tsv(p, dtype={ID: str}) for m, p in (qc or {}).items()}
    qc_tables = {m: table for m, table in qc_tables.items() if m in features}
    predictions, metrics, notes = predict_study(model, participants, tables, qc_tables)
    notes += [f"{m}: not a modality of the model; its table is not used" for m in ignored]
    if metrics.empty:
        metrics = pd.DataFrame(columns=["model", "modality", "n_subjects"])
    files = predict_outputs(out_dir)
    paths = {
        "predictions": write_tsv(predictions, files["predictions"]),
        "metrics": write_tsv(metrics, files["metrics"]),
    }
    tmp = files["notes"].with_name(f".{files['notes'].name}.tmp")
    tmp.write_text("".join(f"{n}\n" for n in notes))
    os.replace(tmp, files["notes"])
    paths["notes"] = files["notes"]
    return paths


__all__ = [
    "fit_final",
    "load_model",
    "model_card",
    "predict_folder",
    "predict_study",
    "predict_tables",
    "save_model",
]
