"""Cross-validation loops: outer splits, per-fold fitting of every analysis, out-of-fold output.

One set of outer splits is shared by all analyses (each modality alone, the fusions and the
confound baseline), so that their scores are paired and comparable. Everything fitted
(harmonisation, imputation, scaling, hyper-parameters in nested CV) is fitted on the outer
training fold only.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import (
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from psymodal.io.tables import FLOAT_FORMAT
from psymodal.learn import models as M
from psymodal.learn.assemble import COVARIATE_PREFIX, ID, SEP, StudyData
from psymodal.learn.metrics import (
    METRICS,
    MULTICLASS_METRICS,
    REGRESSION_METRICS,
    binary_metrics,
    bootstrap_ci,
    bootstrap_multiclass_ci,
    bootstrap_regression_ci,
    calibration_table,
    multiclass_metrics,
    permutation_p_value,
    regression_metrics,
)
from psymodal.learn.privacy import COLUMNS as MIA_COLUMNS
from psymodal.learn.privacy import (
    lira_attack,
    membership_attack,
    membership_table,
    reference_halves,
)
from psymodal.learn.search import CHOICE_COLUMNS, stratification_key
from psymodal.learn.settings import resolve
from psymodal.workflow.threads import limit_threads

#: Column order of the predictions table.
PREDICTION_COLUMNS = [ID, "fold", "repeat", "modality", "model", "y_true", "probability"]


def output_column(s: dict) -> str:
    """The predictions table's output column: ``probability`` (of class 1) or ``prediction``."""
    return "prediction" if s["task"] == "regression" else "probability"


def probability_columns(n_classes: int) -> list[str]:
    """``learn.task: multiclass``: the predictions table's ``probability_<code>`` columns."""
    return [f"probability_{k}" for k in range(n_classes)]


def prediction_columns(s: dict, n_classes: int = 0) -> list[str]:
    """Column order of the predictions table for ``learn.task`` (``n_classes`` probability
    columns for multiclass)."""
    if s["task"] == "multiclass":
        return [*PREDICTION_COLUMNS[:-1], *probability_columns(n_classes)]
    return [*PREDICTION_COLUMNS[:-1], output_column(s)]


def _class_probabilities(estimator, X, n_classes: int) -> np.ndarray:
    """``predict_proba`` with one column per class code, 0 for a class the fitted model never
    saw (absent from its training fold)."""
    known = estimator.predict_proba(X)
    out = np.zeros((len(known), n_classes))
    out[:, np.asarray(estimator.classes_, dtype=int)] = known
    return out


STRATEGIES = ("stratified", "site_stratified", "leave_site_out", "group")


@dataclass(frozen=True)
class Analysis:
    """One row of the metrics table: a model applied to an input.

    ``kind`` is ``block`` (one modality, its subjects only), ``late`` (average of the ``block``
    probabilities of the same model over the modalities a subject has), ``early`` (one model on
    all blocks concatenated), ``intermediate`` (torch fusion network) or ``confounds``.
    """

    model: str
    modality: str
    kind: str
    block: str | None = None


@dataclass
class EvaluationResult:
    """Output of :func:`evaluate`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per (model, modality); see :func:`summarize`.
    predictions : pandas.DataFrame
        Out-of-fold predictions, columns :data:`PREDICTION_COLUMNS`.
    calibration : pandas.DataFrame
        Reliability table per (model, modality).
    notes : list of str
        Warnings and decisions (reduced folds, skipped folds...), also written to run_info.
    settings : dict
        The resolved settings used.
    fitted : list
        (repeat, fold, analysis, fitted estimator, test indices) when kept for explanation.
    null : pandas.DataFrame
        The permutation null: model, modality, permutation, roc_auc (empty without permutations).
    membership : pandas.DataFrame
        Membership-inference audit of the fitted models, one row per (model, modality):
        :func:`psymodal.learn.privacy.membership_table`.
    hyperparameters : pandas.DataFrame
        Nested CV: every grid point's mean inner score per outer fold, and the value chosen.
    """

    metrics: pd.DataFrame
    predictions: pd.DataFrame
    calibration: pd.DataFrame
    notes: list[str]
    settings: dict
    fitted: list = field(default_factory=list, repr=False)
    n_folds: int = 0
    null: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NULL_COLUMNS))
    membership: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MIA_COLUMNS))
    hyperparameters: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=CHOICE_COLUMNS)
    )


#: Suffix of the modality name of a model fitted on a modality plus the confounds.
WITH_CONFOUNDS = "+confounds"


def plan_analyses(data: StudyData, s: dict) -> list[Analysis]:
    """List the analyses requested by the settings, in output order."""
    plan = []
    for model in s["models"]:
        if model not in M.FEATURE_MODELS:
            raise ValueError(f"unknown model '{model}' (choose from {M.FEATURE_MODELS})")
        plan += [Analysis(model, m, "block", m) for m in data.modalities]
        if s["added_value"] and s["confound_baseline"] and data.covariates:
            plan += [
                Analysis(model, f"{m}{WITH_CONFOUNDS}", "with_confounds", m)
                for m in data.modalities
            ]
        if "late" in s["fusion"] and len(data.modalities) > 1:
            plan.append(Analysis(model, "late_fusion", "late"))
        if "early" in s["fusion"] and len(data.modalities) > 1:
            plan.append(Analysis(model, "early_fusion", "early"))
    if "intermediate" in s["fusion"]:
        private = s["torch"]["dp_epsilon"] is not None
        name = "dp_fusion_net" if private else "fusion_net"
        plan.append(Analysis(name, "intermediate_fusion", "intermediate"))
    unknown = set(s["fusion"]) - {"late", "early", "intermediate"}
    if unknown:
        raise ValueError(f"unknown fusion strategies {sorted(unknown)}")
    regression = s["task"] == "regression"
    if s["confound_baseline"] and data.covariates:
        plan.append(Analysis("ridge" if regression else "logistic", "confounds", "confounds"))
    if regression:
        # What any model must beat: the training mean, predicted for everyone.
        plan.append(Analysis("mean", "mean_predictor", "mean"))
    if s["task"] == "multiclass":
        # Chance: the training fold's most frequent class, its class frequencies as scores.
        plan.append(Analysis("most_frequent", "chance", "chance"))
    return plan


def _n_folds(y: np.ndarray, requested: int, policy: str, notes: list[str]) -> int:
    counts = np.bincount(y, minlength=2)
    smallest = int(counts.min())
    if smallest >= requested:
        return requested
    message = f"smallest class has {smallest} subjects, fewer than the {requested} folds requested"
    if policy == "error" or smallest < 2:
        raise ValueError(message + ("" if smallest >= 2 else ": cannot cross-validate"))
    notes.append(message + f": using {smallest} folds")
    return smallest


def make_splits(data: StudyData, s: dict, y: np.ndarray | None = None, repeats: int | None = None):
    """Outer splits for all repeats.

    Returns
    -------
    splits : list of (repeat, fold, train_idx, test_idx)
    n_folds : int
        Folds actually used (after reduction); sites for leave_site_out.
    notes : list of str
    """
    cv = s["cv"]
    y = data.y if y is None else y
    strategy = cv["strategy"]
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown cv.strategy '{strategy}' (choose from {STRATEGIES})")
    notes: list[str] = []
    repeats = cv["repeats"] if repeats is None else repeats
    splits = []
    if strategy == "leave_site_out":
        if data.site is None:
            raise ValueError("cv.strategy leave_site_out needs a site column in participants.tsv")
        n_sites = len(np.unique(data.site))
        if n_sites < 2:
            raise ValueError("leave_site_out needs at least two sites")
        if repeats > 1:
            notes.append("leave_site_out is deterministic: repeats set to 1")
        for fold, (train, test) in enumerate(LeaveOneGroupOut().split(data.X, y, data.site)):
            splits.append((0, fold, train, test))
        return splits, n_sites, notes
    if s["task"] == "regression":
        if len(y) < cv["folds"]:
            raise ValueError(f"{len(y)} subjects: fewer than the {cv['folds']} folds requested")
        folds = cv["folds"]
        y = stratification_key(y, folds)  # quartiles keep each fold's score range representative
    else:
        folds = _n_folds(y, cv["folds"], cv["small_class"], notes)
    for repeat in range(repeats):
        seed = cv["seed"] + repeat
        if strategy == "group":
            if data.groups is None:
                raise ValueError("cv.strategy group needs cv.group_column")
            splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
            iterator = splitter.split(data.X, y, data.groups)
        elif strategy == "site_stratified":
            if data.site is None:
                raise ValueError("cv.strategy site_stratified needs a site column")
            strata = np.char.add(np.char.add(data.site.astype(str), "|"), y.astype(str))
            splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
            with warnings.catch_warnings():
                # Small site x label strata only make the balance approximate.
                warnings.simplefilter("ignore", UserWarning)
                iterator = list(splitter.split(data.X, strata))
        else:
            iterator = StratifiedKFold(folds, shuffle=True, random_state=seed).split(data.X, y)
        for fold, (train, test) in enumerate(iterator):
            splits.append((repeat, fold, train, test))
    return splits, folds, notes


# (columns, positions) of the last study matrices' column indexes, most recent first
_POSITIONS: list[tuple[pd.Index, dict[str, int]]] = []


def _column_positions(data: StudyData) -> dict[str, int]:
    """Column name -> position in ``data.X``, built once per column index: a connectome has
    thousands of edges and every fold of every permutation builds an estimator. Keyed by the
    (immutable) index object, which the label and modality permutations' study copies share."""
    columns = data.X.columns
    for cached, positions in _POSITIONS:
        if cached is columns:
            return positions
    positions = {c: i for i, c in enumerate(columns)}
    _POSITIONS[:] = [(columns, positions), *_POSITIONS[:3]]
    return positions


def build_estimator(analysis: Analysis, data: StudyData, s: dict, seed: int):
    """Unfitted estimator for ``analysis`` (before any nested-CV wrapping).

    Estimators address columns of ``data.X`` by position: the CV passes plain arrays, because
    validating a wide DataFrame in every step of every fit costs more than the fits.
    """
    pos = _column_positions(data)
    if analysis.kind == "confounds":
        return M.confound_pipeline(
            [pos[c] for c in data.covariates],
            [pos[c] for c in data.categorical],
            s,
            model=analysis.model,
        )
    if analysis.kind in ("mean", "chance"):
        from sklearn.pipeline import Pipeline

        from psymodal.learn.transformers import ModalityBlockSelector

        return Pipeline(
            [("select", ModalityBlockSelector([0])), ("clf", M.estimator(analysis.model, s, seed))]
        )
    if analysis.kind == "intermediate":
        return _fusion_estimator(data, s, seed, pos)
    if analysis.kind == "with_confounds":
        return _with_confounds_estimator(analysis, data, s, seed, pos)
    names = (
        data.blocks[analysis.block]
        if analysis.kind == "block"
        else [c for cols in data.blocks.values() for c in cols]
    )
    columns = [pos[c] for c in names]
    blocks = [analysis.block] if analysis.kind == "block" else list(data.blocks)
    transform, n_out = _block_transform(data, s, blocks)
    harmonizer, designated = _harmonizer(data, s, len(columns) if n_out is None else n_out)
    designated = [pos[c] for c in designated]
    return M.feature_pipeline(
        analysis.model, columns, s, harmonizer, designated, seed, transform=transform
    )


def _with_confounds_estimator(analysis: Analysis, data: StudyData, s: dict, seed: int, pos):
    """One modality's features (in-fold transform, imputation, scaling) beside the confounds
    (one-hot categorical, scaled numeric), then the model: the "added value" comparison's
    full model. No harmonisation: the confounds are in the model instead."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from psymodal.learn.transformers import MedianImputer, ModalityBlockSelector

    columns = [pos[c] for c in data.blocks[analysis.block]]
    covariates = [pos[c] for c in data.covariates]
    transform, n_out = _block_transform(data, s, [analysis.block])
    width = len(columns) if n_out is None else n_out
    steps = [("select", ModalityBlockSelector(columns + covariates))]
    if transform is not None:
        steps.append(("transform", transform))
    features = Pipeline([("impute", MedianImputer()), ("scale", StandardScaler())])
    # positions inside the confound columns the outer transformer hands over
    confounds = M.confound_pipeline(
        list(range(len(covariates))), [data.covariates.index(c) for c in data.categorical], s
    ).named_steps["columns"]
    # slices, not lists of positions: scikit-learn checks a list's type element by element,
    # which took half of each fit on a 12,720-edge connectome
    both = ColumnTransformer(
        [
            ("features", features, slice(0, width)),
            ("confounds", confounds, slice(width, width + len(covariates))),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )
    steps += [("columns", both), ("clf", M.estimator(analysis.model, s, seed))]
    return Pipeline(steps)


def _fusion_estimator(data: StudyData, s: dict, seed: int, pos: dict[str, int]):
    """Intermediate fusion: [selector -> transform -> harmonizer ->] the torch network.

    Without ``learn.transforms`` for any block and without harmonisation, the bare
    :class:`~psymodal.learn.fusion_torch.FusionNetClassifier` reads each block from the study
    matrix by position. Otherwise a Pipeline applies the same in-fold steps as the early-fusion
    pipeline (selector of all blocks then the covariates, block transforms, harmonizer), so they
    are fitted on the training fold only, and the network's blocks are the column ranges of the
    transformed blocks, in order.
    """
    from sklearn.pipeline import Pipeline

    from psymodal.learn.fusion_torch import FusionNetClassifier
    from psymodal.learn.transformers import ModalityBlockSelector

    modalities = list(data.blocks)
    columns = [pos[c] for m in modalities for c in data.blocks[m]]
    transform, n_out = _block_transform(data, s, modalities)
    harmonizer, designated = _harmonizer(data, s, len(columns) if n_out is None else n_out)
    if transform is None and harmonizer is None:
        blocks = {m: [pos[c] for c in cols] for m, cols in data.blocks.items()}
        return FusionNetClassifier(blocks=blocks, random_state=seed, **s["torch"])
    # The transform keeps the blocks in order (covariates last, consumed by the harmonizer).
    bounds = np.cumsum([0, *_block_widths(data, s, modalities)])
    blocks = {m: list(range(int(bounds[k]), int(bounds[k + 1]))) for k, m in enumerate(modalities)}
    steps = [("select", ModalityBlockSelector(columns + [pos[c] for c in designated]))]
    if transform is not None:
        steps.append(("transform", transform))
    if harmonizer is not None:
        steps.append(("harmonize", harmonizer))
    steps.append(("clf", FusionNetClassifier(blocks=blocks, random_state=seed, **s["torch"])))
    return Pipeline(steps)


def _block_widths(data: StudyData, s: dict, blocks: list[str]) -> list[int]:
    """Number of columns of each of ``blocks`` after its ``learn.transforms`` transform."""
    from psymodal.learn.transformers import tangent_layout

    transforms = s.get("transforms") or {}
    widths = []
    for m in blocks:
        cols = data.blocks[m]
        if transforms.get(m) == "tangent":
            widths.append(len(tangent_layout(_edges(m, cols))[1]))
        else:
            widths.append(len(cols))
    return widths


def block_feature_names(data: StudyData, s: dict, block: str) -> list[str]:
    """Names of the columns a ``block``'s model sees, after its ``learn.transforms`` transform.

    The block's own columns, or for ``tangent`` the i < j tangent edges of its regions, named
    ``<block>__regionA__regionB`` like the covariances they come from (edges of a region that
    a fold drops are constant 0 there, see :class:`~psymodal.learn.transformers.TangentFeatures`).
    Explanations use them to name the coefficients of a tangent-space model.
    """
    from psymodal.learn.transformers import tangent_layout

    columns = data.blocks[block]
    if s["transforms"].get(block) != "tangent":
        return list(columns)
    return [f"{block}{SEP}{name}" for name in tangent_layout(_edges(block, columns))[1]]


def _edges(modality: str, columns) -> tuple[str, ...]:
    """Edge names ``regionA__regionB`` of a block's columns (modality prefix removed), as
    :class:`~psymodal.learn.transformers.SharedNames`."""
    return _block_edges(modality, tuple(columns))


@functools.lru_cache(maxsize=16)
def _block_edges(modality: str, columns: tuple[str, ...]):
    # cached: every fit of every fold and permutation asks for the same ~13,000 names, and
    # slicing them cost ~10 ms a call; one shared object also keeps the layout caches' key
    # comparisons to an identity check
    from psymodal.learn.transformers import SharedNames

    return SharedNames(c[len(modality) + len(SEP) :] for c in columns)


def _block_transform(data: StudyData, s: dict, blocks: list[str]):
    """In-fold transform of the selected ``blocks`` (``learn.transforms``) and its width.

    Returns ``(None, None)`` when none of the blocks has a transform. Otherwise a
    ColumnTransformer over the selector's output (the blocks' columns in order, then the
    covariates) that replaces each transformed block by its output, passes the other blocks
    through and keeps the covariates last; and the number of feature columns it outputs.
    """
    transforms = s.get("transforms") or {}
    if not any(transforms.get(m) for m in blocks):
        return None, None
    from sklearn.compose import ColumnTransformer

    from psymodal.learn.transformers import TangentFeatures

    parts, offset = [], 0
    for m in blocks:
        cols = data.blocks[m]
        where = slice(offset, offset + len(cols))  # a slice: see _with_confounds_estimator
        offset += len(cols)
        if transforms.get(m) == "tangent":
            tangent = TangentFeatures(
                edges=_edges(m, cols),
                missing_regions=s["tangent"]["missing_regions"],
            )
            parts.append((m, tangent, where))
        else:
            parts.append((m, "passthrough", where))
    n_out = sum(_block_widths(data, s, blocks))
    # The covariates (harmonizer's designated columns) follow the blocks; pass them through.
    transform = ColumnTransformer(
        parts,
        remainder="passthrough",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )
    return transform, n_out


def _harmonizer(data: StudyData, s: dict, n_features: int):
    """Harmonizer and the covariate columns it needs (names in ``data.X``).

    The selector puts the covariates after the ``n_features`` feature columns, so the
    harmonizer addresses them by those positions.
    """
    method = s["harmonize"]
    if method in (None, "none"):
        return None, []
    from psymodal.learn.transformers import ComBat, ConfoundRegressor

    site_col = f"confound__{s['site_column']}"
    if method in ("combat", "combat_gam"):
        if site_col not in data.covariates:
            raise ValueError("harmonize: combat needs a site column")
        others = [c for c in data.covariates if c != site_col]
        protect = s["combat"]["protect"]
        if protect is not None:
            unknown = sorted(set(protect) - {c[len(COVARIATE_PREFIX) :] for c in others})
            if unknown:
                raise ValueError(f"learn.combat.protect {unknown}: not among the confounds")
            others = [c for c in others if c[len(COVARIATE_PREFIX) :] in protect]
        if s["combat"]["fit_on"] == "controls" and s["task"] != "classification":
            raise ValueError("learn.combat.fit_on: controls needs learn.task: classification")
        if method == "combat_gam":
            from psymodal.learn.harmonize_gam import ComBatGAM

            names = [c[len(COVARIATE_PREFIX) :] for c in others]
            missing = sorted(set(s["combat"]["smooth"]) - set(names))
            if missing:
                raise ValueError(
                    f"learn.combat.smooth {missing}: not among the protected confounds {names}"
                )
            if s["combat"]["fit_on"] != "all":
                raise ValueError("learn.combat.fit_on: controls is not available with combat_gam")
            gam = ComBatGAM(
                site_column=n_features,
                covariate_columns=tuple(range(n_features + 1, n_features + 1 + len(others))),
                smooth=tuple(names.index(c) for c in s["combat"]["smooth"]),
                empirical_bayes=s["combat"]["empirical_bayes"],
            )
            return gam, [site_col, *others]
        combat = ComBat(
            site_column=n_features,
            covariate_columns=tuple(range(n_features + 1, n_features + 1 + len(others))),
            empirical_bayes=s["combat"]["empirical_bayes"],
            unseen_site=s["combat"]["unseen_site"],
            fit_on=s["combat"]["fit_on"],
        )
        return combat, [site_col, *others]
    if method == "regress":
        covariates = list(data.covariates)
        where = {c: n_features + i for i, c in enumerate(covariates)}
        regressor = ConfoundRegressor(
            covariate_columns=tuple(where.values()),
            categorical_columns=tuple(where[c] for c in data.categorical if c in where),
        )
        return regressor, covariates
    raise ValueError(f"unknown harmonize method '{method}' (none, combat, combat_gam, regress)")


def _fit(estimator, analysis: Analysis, X, y, s: dict, seed: int, site=None, groups=None):
    """Fit ``estimator`` on a training fold, choosing its hyper-parameters first when nested.

    Returns
    -------
    estimator
        Fitted (a plain Pipeline: the chosen values are set on it).
    choices : list of dict
        One row per grid point (parameter, value, mean inner score, chosen), empty without a
        search. The inner splits follow the outer scheme
        (:func:`psymodal.learn.search.inner_splits`).
    """
    from psymodal.learn.search import choose, inner_splits

    grid = M.param_grid(analysis.model, s) if analysis.kind != "intermediate" else {}
    choices: list[dict] = []
    if s["cv"]["nested"] and grid and hasattr(estimator, "steps"):
        splits, scheme = inner_splits(
            s["cv"]["strategy"], y, s["cv"]["inner_folds"], seed, site, groups, task=s["task"]
        )
        best, scores = choose(estimator, grid, X, y, splits, task=s["task"])
        estimator.set_params(**best)
        for point in scores:
            for name, value in point["params"].items():
                choices.append(
                    {
                        "parameter": name.split("__", 1)[1],
                        "value": value,
                        "inner_score": point["score"],
                        "chosen": point["params"] == best,
                        "inner_cv": scheme,
                        "n_inner_folds": len(splits),
                    }
                )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return estimator.fit(X, y), choices


def _fold(data, X, y, s, analyses, repeat, fold, train, test, keep, membership=False):
    # Also in joblib workers: one BLAS thread per fit is faster on these small problems and
    # makes the floats independent of the core count.
    _threads = limit_threads(1)  # noqa: F841 - the limit lasts while the controller lives
    seed = s["cv"]["seed"] + repeat
    regression = s["task"] == "regression"
    multiclass = s["task"] == "multiclass"
    n_classes = len(data.classes)
    out_column = output_column(s)
    # the attack reads the probability of class 1
    membership = membership and s["task"] == "classification"
    rows, notes, fitted, attacks, choices = [], [], [], [], []
    block_probs: dict[str, dict[str, pd.Series]] = {}
    avail = data.available.to_numpy()
    modality_pos = {m: i for i, m in enumerate(data.modalities)}

    def record(analysis, idx, prob):
        outputs = (
            dict(zip(probability_columns(n_classes), np.asarray(prob).T, strict=True))
            if multiclass
            else {out_column: prob}
        )
        rows.append(
            pd.DataFrame(
                {
                    ID: data.ids[idx],
                    "fold": fold,
                    "repeat": repeat,
                    "modality": analysis.modality,
                    "model": analysis.model,
                    "y_true": y[idx],
                    **outputs,
                }
            )
        )

    for analysis in analyses:
        if analysis.kind == "late":
            probs = block_probs.get(analysis.model, {})
            if not probs:
                continue
            if multiclass:
                # each class's probability averaged over the blocks a subject has
                mean = pd.concat(probs.values()).groupby(level=0).mean()
            else:
                stacked = pd.concat(probs.values(), axis=1)
                mean = stacked.mean(axis=1, skipna=True).dropna()
            idx = np.sort(mean.index.to_numpy())
            record(analysis, idx, mean.loc[idx].to_numpy())
            continue
        tr, te = train, test
        if analysis.kind in ("block", "with_confounds"):
            column = avail[:, modality_pos[analysis.block]]
            tr, te = train[column[train]], test[column[test]]
        if len(te) == 0:
            continue
        if not regression and len(np.unique(y[tr])) < 2:
            notes.append(
                f"repeat {repeat} fold {fold}: {analysis.model}/{analysis.modality} skipped, "
                "one class in training subjects"
            )
            continue
        with warnings.catch_warnings(record=True) as caught:
            # Recorded rather than printed: e.g. ComBat meeting a site unseen in training.
            warnings.simplefilter("always", UserWarning)
            estimator, fold_choices = _fit(
                build_estimator(analysis, data, s, seed),
                analysis,
                X[tr],
                y[tr],
                s,
                seed,
                site=None if data.site is None else data.site[tr],
                groups=None if data.groups is None else data.groups[tr],
            )
            if regression:
                prob = estimator.predict(X[te])
            elif multiclass:
                prob = _class_probabilities(estimator, X[te], n_classes)
            else:
                prob = estimator.predict_proba(X[te])[:, 1]
            # The membership audit needs the model's view of its own training subjects.
            train_prob = estimator.predict_proba(X[tr])[:, 1] if membership else None
        for message in dict.fromkeys(str(w.message) for w in caught):
            notes.append(
                f"repeat {repeat} fold {fold} {analysis.model}/{analysis.modality}: {message}"
            )
        record(analysis, te, prob)
        for choice in fold_choices:
            key = {"model": analysis.model, "modality": analysis.modality}
            choices.append({**key, "repeat": repeat, "fold": fold, **choice})
        if analysis.kind == "block":
            block_probs.setdefault(analysis.model, {})[analysis.block] = (
                pd.DataFrame(prob, index=te) if multiclass else pd.Series(prob, index=te)
            )
        if keep:
            fitted.append((repeat, fold, analysis, estimator, te))
        if membership:
            attack = membership_attack(y[tr], train_prob, y[te], prob)
            attacks.append(
                {
                    "model": analysis.model,
                    "modality": analysis.modality,
                    **attack,
                    # the likelihood-ratio attack needs the reference models first
                    "_fold": (tr, train_prob, te, prob),
                }
            )
    return rows, notes, fitted, attacks, choices


def _reference_model(data, X, y, s, analysis, rows, mask, seed):
    """Probabilities of class 1, for ``rows``, of a model fitted on ``rows[mask]`` by the
    evaluation's own procedure (inner search included)."""
    _threads = limit_threads(1)  # noqa: F841
    train = rows[mask]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fold fits already reported them
        estimator, _ = _fit(
            build_estimator(analysis, data, s, seed),
            analysis,
            X[train],
            y[train],
            s,
            seed,
            site=None if data.site is None else data.site[train],
            groups=None if data.groups is None else data.groups[train],
        )
        return estimator.predict_proba(X[rows])[:, 1]


def _likelihood_ratio_attacks(data, X, y, s, analyses, attacks: list[dict]) -> None:
    """Add the offline LiRA columns to every fold's attack row (in place), from
    ``learn.membership.reference_models`` reference models per analysis."""
    n_models = s["membership"]["reference_models"]
    avail = data.available.to_numpy()
    modality_pos = {m: i for i, m in enumerate(data.modalities)}
    seed = s["cv"]["seed"] + 7919  # reference halves differ from the outer folds
    jobs, keys = [], []
    for analysis in analyses:
        if analysis.kind == "late" or n_models < 2:
            continue
        rows = np.arange(len(y))
        if analysis.kind in ("block", "with_confounds"):
            rows = rows[avail[:, modality_pos[analysis.block]]]
        masks = reference_halves(y[rows], n_models, seed)
        for mask in masks:
            jobs.append(delayed(_reference_model)(data, X, y, s, analysis, rows, mask, seed))
            keys.append((analysis.model, analysis.modality, rows, mask))
    outputs = Parallel(n_jobs=s["cv"]["n_jobs"])(jobs) if jobs else []
    reference: dict[tuple[str, str], list[np.ndarray]] = {}
    for (model, modality, rows, mask), prob in zip(keys, outputs, strict=True):
        column = np.full(len(y), np.nan)
        column[rows[~mask]] = prob[~mask]  # only models that did not see a subject count
        reference.setdefault((model, modality), []).append(column)
    for attack in attacks:
        tr, p_tr, te, p_te = attack.pop("_fold")
        columns = reference.get((attack["model"], attack["modality"]))
        if columns is None:
            attack.update(lira_auc=np.nan, lira_advantage=np.nan, n_reference_models=0)
            continue
        table = np.column_stack(columns)
        attack.update(lira_attack(y[tr], p_tr, table[tr], y[te], p_te, table[te]))
        attack["n_reference_models"] = len(columns)


def cross_validated_predictions(
    data: StudyData,
    s: dict,
    y: np.ndarray | None = None,
    repeats: int | None = None,
    keep_fitted: bool = False,
    membership: bool = False,
    analyses: list[Analysis] | None = None,
):
    """Run every analysis (or only ``analyses``) on every outer split.

    Returns
    -------
    predictions : pandas.DataFrame
    n_folds : int
    notes : list of str
    fitted : list
    attacks : pandas.DataFrame
        With ``membership``: one membership-inference row per fold and fitted analysis
        (:func:`psymodal.learn.privacy.membership_attack`); else empty.
    hyperparameters : pandas.DataFrame
        The inner search of every outer fold (columns
        :data:`psymodal.learn.search.CHOICE_COLUMNS`); empty without nested CV.
    """
    y = data.y if y is None else np.asarray(y)
    analyses = plan_analyses(data, s) if analyses is None else analyses
    splits, n_folds, notes = make_splits(data, s, y, repeats)
    X = data.X.to_numpy(dtype=float)
    jobs = (
        delayed(_fold)(data, X, y, s, analyses, r, f, tr, te, keep_fitted, membership)
        for r, f, tr, te in splits
    )
    outputs = Parallel(n_jobs=s["cv"]["n_jobs"])(jobs)
    rows, fitted, attacks, choices = [], [], [], []
    for fold_rows, fold_notes, fold_fitted, fold_attacks, fold_choices in outputs:
        rows += fold_rows
        notes += fold_notes
        fitted += fold_fitted
        attacks += fold_attacks
        choices += fold_choices
    if attacks:
        _likelihood_ratio_attacks(data, X, y, s, analyses, attacks)
    predictions = pd.concat(rows, ignore_index=True)[prediction_columns(s, len(data.classes))]
    order = {(a.model, a.modality): i for i, a in enumerate(analyses)}
    predictions["_order"] = [
        order[k] for k in zip(predictions.model, predictions.modality, strict=True)
    ]
    predictions = predictions.sort_values(["_order", "repeat", "fold", ID], kind="stable")
    predictions = predictions.drop(columns="_order").reset_index(drop=True)
    if s["task"] == "regression":
        # Summarised as written (10 significant digits), so that the audit, which recomputes
        # the metrics from predictions.tsv, finds the same r even for near-constant
        # predictions (a confound model shrunk to the mean), where rounding moves r.
        for name in ("y_true", "prediction"):
            predictions[name] = [float(FLOAT_FORMAT % v) for v in predictions[name]]
    hyper = pd.DataFrame(choices, columns=CHOICE_COLUMNS)
    if len(hyper):
        hyper["_order"] = [order[k] for k in zip(hyper.model, hyper.modality, strict=True)]
        hyper = hyper.sort_values(["_order", "repeat", "fold"], kind="stable")
        hyper = hyper.drop(columns="_order").reset_index(drop=True)
    return predictions, n_folds, notes, fitted, pd.DataFrame(attacks), hyper


def _pooled_auc_per_key(predictions: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Pooled out-of-fold ROC AUC (Pearson r for regression, macro one-vs-rest AUC for
    multiclass) per analysis, mean over repeats."""
    from psymodal.learn.metrics import macro_roc_auc

    out = {}
    regression = "prediction" in predictions.columns
    classes = [c for c in predictions.columns if c.startswith("probability_")]
    for key, group in predictions.groupby(["model", "modality"], sort=False):
        aucs = [
            regression_metrics(g.y_true, g.prediction)["pearson_r"]
            if regression
            else macro_roc_auc(g.y_true, g[classes].to_numpy())
            if classes
            else binary_metrics(g.y_true, g.probability)["roc_auc"]
            for _, g in group.groupby("repeat", sort=True)
        ]
        out[key] = float(np.nanmean(aucs)) if not np.all(np.isnan(aucs)) else np.nan
    return out


def summarize(
    predictions: pd.DataFrame,
    s: dict,
    n_folds: int,
    null_auc: dict[tuple[str, str], list[float]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics and calibration tables from out-of-fold predictions.

    Point estimates are metrics of the pooled out-of-fold predictions of each repeat, averaged
    over repeats. Confidence intervals are stratified-bootstrap percentiles over subjects of the
    probabilities averaged over repeats (each still out-of-fold). ``roc_auc_fold_mean`` is the
    mean of per-fold AUCs over folds holding both classes (the usual figure for leave-site-out).

    Returns
    -------
    metrics, calibration : pandas.DataFrame
        For ``learn.task: regression`` see :func:`summarize_regression` (no calibration).
    """
    if s["task"] == "regression":
        return summarize_regression(predictions, s, n_folds, null_auc)
    if s["task"] == "multiclass":
        return summarize_multiclass(predictions, s, n_folds, null_auc)
    threshold = s["metrics"]["threshold"]
    n_boot = s["metrics"]["bootstrap"]
    rows, calibration = [], []
    for (model, modality), group in predictions.groupby(["model", "modality"], sort=False):
        per_repeat = [
            binary_metrics(g.y_true, g.probability, threshold)
            for _, g in group.groupby("repeat", sort=True)
        ]
        fold_aucs = [
            binary_metrics(g.y_true, g.probability)["roc_auc"]
            for _, g in group.groupby(["repeat", "fold"], sort=True)
        ]
        fold_aucs = np.asarray(fold_aucs, dtype=float)
        averaged = group.groupby(ID, sort=True).agg(
            y_true=("y_true", "first"), probability=("probability", "mean")
        )
        row = {
            "model": model,
            "modality": modality,
            "n_subjects": int(len(averaged)),
            "n_positive": int(averaged.y_true.sum()),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for name in METRICS:
                row[name] = float(np.nanmean([r[name] for r in per_repeat]))
        ci = bootstrap_ci(averaged.y_true, averaged.probability, n_boot, s["cv"]["seed"], threshold)
        for name in METRICS:
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci[name]
        null = (null_auc or {}).get((model, modality), [])
        _spread_and_permutation(row, "roc_auc", per_repeat, fold_aucs, group, n_folds, s, null)
        rows.append(row)
        table = calibration_table(
            averaged.y_true, averaged.probability, s["metrics"]["calibration_bins"]
        )
        table.insert(0, "modality", modality)
        table.insert(0, "model", model)
        calibration.append(table)
    return pd.DataFrame(rows), pd.concat(calibration, ignore_index=True)


def summarize_regression(
    predictions: pd.DataFrame,
    s: dict,
    n_folds: int,
    null: dict[tuple[str, str], list[float]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regression metrics from out-of-fold predictions (``learn.task: regression``).

    As :func:`summarize`: point estimates on the pooled out-of-fold predictions of each repeat,
    averaged over repeats; bootstrap intervals over subjects (plain resampling) of the
    predictions averaged over repeats; ``pearson_r_fold_mean`` over folds. The permutation
    p-value is that of Pearson r. The calibration table is empty.
    """
    n_boot = s["metrics"]["bootstrap"]
    rows = []
    for (model, modality), group in predictions.groupby(["model", "modality"], sort=False):
        per_repeat = [
            regression_metrics(g.y_true, g.prediction) for _, g in group.groupby("repeat")
        ]
        fold_r = np.asarray(
            [
                regression_metrics(g.y_true, g.prediction)["pearson_r"]
                for _, g in group.groupby(["repeat", "fold"], sort=True)
            ],
            dtype=float,
        )
        averaged = group.groupby(ID, sort=True).agg(
            y_true=("y_true", "first"), prediction=("prediction", "mean")
        )
        row = {"model": model, "modality": modality, "n_subjects": int(len(averaged))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for name in REGRESSION_METRICS:
                row[name] = float(np.nanmean([r[name] for r in per_repeat]))
        ci = bootstrap_regression_ci(averaged.y_true, averaged.prediction, n_boot, s["cv"]["seed"])
        for name in REGRESSION_METRICS:
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci[name]
        values = (null or {}).get((model, modality), [])
        _spread_and_permutation(row, "pearson_r", per_repeat, fold_r, group, n_folds, s, values)
        rows.append(row)
    calibration = pd.DataFrame(columns=["model", "modality", *CALIBRATION_COLUMNS])
    return pd.DataFrame(rows), calibration


def _spread_and_permutation(row, statistic, per_repeat, fold_values, group, n_folds, s, null):
    """The columns every task's metrics row ends with, in this order: the spread of
    ``statistic`` over repeats and its mean over folds, the CV design, and the permutation
    p-value of ``statistic`` against its ``null`` values with its floor."""
    values = [r[statistic] for r in per_repeat]
    row[f"{statistic}_sd"] = float(np.std(values)) if len(values) > 1 else np.nan
    valid = fold_values[~np.isnan(fold_values)]
    row[f"{statistic}_fold_mean"] = float(valid.mean()) if len(valid) else np.nan
    row["n_folds"] = n_folds
    row["n_repeats"] = int(group.repeat.nunique())
    row["cv_strategy"] = s["cv"]["strategy"]
    row["n_permutations"] = len(null)
    row["p_value"] = permutation_p_value(row[statistic], np.asarray(null)) if null else np.nan
    # The smallest p-value n permutations can give: p = p_value_floor is "at most this".
    row["p_value_floor"] = 1.0 / (len(null) + 1) if null else np.nan


def summarize_multiclass(
    predictions: pd.DataFrame,
    s: dict,
    n_folds: int,
    null: dict[tuple[str, str], list[float]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Multiclass metrics from out-of-fold predictions (``learn.task: multiclass``).

    As :func:`summarize`: point estimates on the pooled out-of-fold class probabilities of
    each repeat, averaged over repeats; class-stratified bootstrap intervals over subjects of
    the probabilities averaged over repeats; ``roc_auc_fold_mean`` over folds. ROC AUC is the
    macro one-vs-rest AUC (:func:`~psymodal.learn.metrics.macro_roc_auc`), also the
    permutation test's statistic; the classes are the most probable ones. The calibration
    table is empty.
    """
    classes = [c for c in predictions.columns if c.startswith("probability_")]
    n_boot = s["metrics"]["bootstrap"]
    rows = []
    for (model, modality), group in predictions.groupby(["model", "modality"], sort=False):
        per_repeat = [
            multiclass_metrics(g.y_true, g[classes].to_numpy())
            for _, g in group.groupby("repeat", sort=True)
        ]
        fold_aucs = np.asarray(
            [
                multiclass_metrics(g.y_true, g[classes].to_numpy())["roc_auc"]
                for _, g in group.groupby(["repeat", "fold"], sort=True)
            ],
            dtype=float,
        )
        averaged = group.groupby(ID, sort=True).agg(
            y_true=("y_true", "first"), **{c: (c, "mean") for c in classes}
        )
        row = {
            "model": model,
            "modality": modality,
            "n_subjects": int(len(averaged)),
            "n_classes": int(averaged.y_true.nunique()),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for name in MULTICLASS_METRICS:
                row[name] = float(np.nanmean([r[name] for r in per_repeat]))
        ci = bootstrap_multiclass_ci(
            averaged.y_true, averaged[classes].to_numpy(), n_boot, s["cv"]["seed"]
        )
        for name in MULTICLASS_METRICS:
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci[name]
        values = (null or {}).get((model, modality), [])
        _spread_and_permutation(row, "roc_auc", per_repeat, fold_aucs, group, n_folds, s, values)
        rows.append(row)
    calibration = pd.DataFrame(columns=["model", "modality", *CALIBRATION_COLUMNS])
    return pd.DataFrame(rows), calibration


#: Columns of a calibration table after model and modality.
CALIBRATION_COLUMNS = ["bin", "bin_low", "bin_high", "n", "mean_probability", "fraction_positive"]

NULL_COLUMNS = ["model", "modality", "permutation", "roc_auc", "within"]


def statistic(s: dict) -> str:
    """The permutation test's statistic: ``roc_auc``, or ``pearson_r`` for regression."""
    return "pearson_r" if s["task"] == "regression" else "roc_auc"


def null_table(
    null: dict[tuple[str, str], list[float]], within: str = "none", name: str = "roc_auc"
) -> pd.DataFrame:
    """The permutation null as a long table (one row per analysis and permutation).

    ``name`` is the statistic's column (:func:`statistic`).
    """
    rows = [
        {"model": model, "modality": modality, "permutation": k, name: value, "within": within}
        for (model, modality), values in sorted(null.items())
        for k, value in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["model", "modality", "permutation", name, "within"])


def permutation_strata(data: StudyData, s: dict) -> tuple[np.ndarray | None, str]:
    """Exchangeability blocks of the permutation test (``permutation.within``).

    Returns
    -------
    strata : array or None
        One label per subject; labels are permuted among subjects sharing it. None: freely.
    within : str
        The scheme applied (``auto`` resolved): ``site``, ``group`` or ``none``.
    """
    within = s["permutation"]["within"]
    if within == "auto":
        if s["cv"]["strategy"] == "group" and data.groups is not None:
            within = "group"
        else:
            within = "site" if data.site is not None else "none"
    if within == "site":
        if data.site is None:
            raise ValueError(
                f"permutation.within: site needs the site column '{s['site_column']}' "
                "in participants.tsv"
            )
        return np.asarray(data.site).astype(str), within
    if within == "group":
        if data.groups is None:
            raise ValueError("permutation.within: group needs cv.group_column")
        return np.asarray(data.groups).astype(str), within
    return None, "none"


def permute_within(rng: np.random.Generator, y: np.ndarray, strata: np.ndarray | None):
    """``y`` permuted within each stratum (freely without strata), strata in sorted order."""
    if strata is None:
        return rng.permutation(y)
    out = np.array(y, copy=True)
    for level in np.unique(strata):
        where = np.flatnonzero(strata == level)
        out[where] = y[rng.permutation(where)]
    return out


def _exchangeable_fraction(y: np.ndarray, strata: np.ndarray | None) -> float:
    """Fraction of subjects in a stratum holding more than one label (the ones permuted)."""
    if strata is None:
        return 1.0
    levels, index = np.unique(strata, return_inverse=True)
    mixed = np.array([len(np.unique(y[index == k])) > 1 for k in range(len(levels))])
    return float(np.mean(mixed[index]))


def permutation_fits():
    """Context for the refits of a permutation test: scikit-learn's parameter validation off.

    Permutation runs refit estimators built exactly as the observed run's, whose fits have
    already validated those parameters; validating them again in each of thousands of refits
    (``inspect`` work per estimator and step) only costs time. Input checks (NaN, shapes)
    stay on. Applies in this thread; folds sent to other processes validate as usual.
    """
    from sklearn import config_context

    return config_context(skip_parameter_validation=True)


def _permutation_run(data: StudyData, s: dict, y_perm: np.ndarray):
    """Out-of-fold predictions and notes of one cross-validation on permuted labels.

    The confounds + modality models of ``learn.added_value`` are left out: their question
    (does the modality add to the confounds?) has its own permutation test, which permutes
    the modality rather than the labels (:mod:`psymodal.learn.added_value`).
    """
    analyses = [a for a in plan_analyses(data, s) if a.kind != "with_confounds"]
    with permutation_fits():
        outputs = cross_validated_predictions(data, s, y_perm, repeats=1, analyses=analyses)
    return outputs[0], outputs[2]


def permutation_null(data: StudyData, s: dict) -> tuple[dict, list[str], str]:
    """Pooled ROC AUC of every analysis under ``permutation.n`` label permutations.

    Each permutation re-runs the whole cross-validation (one repeat, same folds scheme, nested
    search included), so the null distribution includes any optimism of the procedure. Labels
    are exchanged within sites or groups (:func:`permutation_strata`): with site and diagnosis
    confounded, a free permutation breaks the site-label link that the observed model can
    exploit, and the p-value comes out too small.

    Returns
    -------
    null : dict
        (model, modality) -> AUCs in permutation order.
    notes : list of str
    within : str
        The exchangeability scheme applied.
    """
    n = int(s["permutation"]["n"])
    null: dict[tuple[str, str], list[float]] = {}
    notes: list[str] = []
    if n <= 0:
        return null, notes, "none"
    strata, within = permutation_strata(data, s)
    mixed = _exchangeable_fraction(data.y, strata)
    notes.append(
        f"permutations within {within}: {mixed:.0%} of subjects are in a {within} holding both "
        f"labels (the others keep theirs); smallest possible p = 1/{n + 1}"
        if within != "none"
        else f"permutations free (no site or group); smallest possible p = 1/{n + 1}"
    )
    rng = np.random.default_rng(s["permutation"]["seed"])
    permuted = [permute_within(rng, data.y, strata) for _ in range(n)]
    # permutations in parallel, each one's folds in sequence: the draws above fix the results
    sequential = {**s, "cv": {**s["cv"], "n_jobs": 1}}
    runs = Parallel(n_jobs=s["cv"]["n_jobs"])(
        delayed(_permutation_run)(data, sequential, y_perm) for y_perm in permuted
    )
    for predictions, perm_notes in runs:
        notes += [n_ for n_ in perm_notes if n_ not in notes]
        for key, auc in _pooled_auc_per_key(predictions).items():
            null.setdefault(key, []).append(auc)
    return null, [notes[0]] + [f"permutation run: {n_}" for n_ in notes[1:]], within


def evaluate(data: StudyData, settings: dict | None, keep_fitted: bool = False) -> EvaluationResult:
    """Cross-validate every requested analysis and summarise.

    Parameters
    ----------
    data : StudyData
        From :func:`psymodal.learn.assemble.assemble`.
    settings : dict or None
        ``learn`` settings (defaults filled in).
    keep_fitted : bool
        Keep the fitted estimators of every fold (needed by :mod:`psymodal.learn.explain`).

    Returns
    -------
    EvaluationResult
    """
    s = resolve(settings)
    predictions, n_folds, notes, fitted, attacks, hyper = cross_validated_predictions(
        data, s, keep_fitted=keep_fitted, membership=True
    )
    null, perm_notes, within = permutation_null(data, s)
    metrics, calibration = summarize(predictions, s, n_folds, null)
    return EvaluationResult(
        metrics=metrics,
        predictions=predictions,
        calibration=calibration,
        notes=list(data.notes) + notes + perm_notes,
        settings=s,
        fitted=fitted,
        n_folds=n_folds,
        null=null_table(null, within, statistic(s)),
        membership=membership_table(attacks),
        hyperparameters=hyper,
    )
