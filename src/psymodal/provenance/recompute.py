"""Recompute a run's summary tables from its out-of-fold predictions (``psymodal audit``).

The learning stage writes ``learn/metrics.tsv`` and ``learn/calibration.tsv`` from its
out-of-fold predictions (``learn/predictions.tsv``) and permutation null
(``learn/permutation_null.tsv``) through :func:`psymodal.learn.cross_validation.summarize`.
The audit calls that same function on the stored predictions and null, with the settings and
fold count the stage recorded in ``learn/run_info.json``, and compares the result with the
stored tables: every metric, bootstrap interval, fold mean, permutation count and p-value, and
every calibration bin. A metric edited by hand (and its checksum updated in the manifest)
no longer matches the predictions it claims to summarise.

What this does not show: that the predictions themselves are genuine (``--relearn`` re-runs
the learning stage from the stored feature tables for that).

Ties: a permuted model's AUC often equals the observed one exactly (AUCs are fractions), and
the p-value counts ties; null AUCs that equal the observed AUC to the stored precision are
taken as ties again (:func:`restore_ties`).

Tolerance: the tables store 10 significant digits (``psymodal.io.tables.FLOAT_FORMAT``), so a
recomputed number may differ from the stored one by the rounding of the predictions it is
computed from. Numbers agree when equal as written, or within :data:`RELATIVE_TOLERANCE` of
each other (relative, with an absolute floor of :data:`ABSOLUTE_TOLERANCE`); text and integer
columns must be equal.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn.assemble import ID
from psymodal.learn.paths import learn_file

#: Tables recomputed from the predictions, in report order.
RECOMPUTED = ("metrics", "calibration")
#: Stored values carry 10 significant digits: recomputed ones agree to about 1e-10 relative.
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12


def read_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """``learn/predictions.tsv`` with the types the stage had in memory."""
    table = read_tsv(path, dtype={ID: str, "modality": str, "model": str})
    if "prediction" in table.columns:  # learn.task: regression
        return table.astype({"fold": int, "repeat": int, "y_true": float, "prediction": float})
    classes = [c for c in table.columns if c.startswith("probability_")]
    if classes:  # learn.task: multiclass
        return table.astype(
            {"fold": int, "repeat": int, "y_true": int, **dict.fromkeys(classes, float)}
        )
    return table.astype({"fold": int, "repeat": int, "y_true": int, "probability": float})


def read_null(path: str | os.PathLike) -> dict[tuple[str, str], list[float]]:
    """``learn/permutation_null.tsv`` as :func:`~psymodal.learn.cross_validation.summarize`
    takes it: (model, modality) -> AUCs in permutation order."""
    table = read_tsv(path, dtype={"model": str, "modality": str})
    # the statistic: roc_auc, or pearson_r for learn.task: regression
    name = "pearson_r" if "pearson_r" in table.columns else "roc_auc"
    null: dict[tuple[str, str], list[float]] = {}
    for (model, modality), group in table.groupby(["model", "modality"], sort=False):
        ordered = group.sort_values("permutation", kind="stable")
        null[(model, modality)] = [float(v) for v in ordered[name]]
    return null


def recompute_tables(learn_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The metrics and calibration tables recomputed from a learning folder's predictions.

    Parameters
    ----------
    learn_dir : path-like
        ``<run>/learn``, with ``predictions.tsv``, ``permutation_null.tsv`` and
        ``run_info.json``.

    Returns
    -------
    dict
        ``metrics`` and ``calibration``, as :func:`summarize` returns them.

    Raises
    ------
    FileNotFoundError
        When a needed file is missing.
    """
    from psymodal.learn.cross_validation import summarize

    learn_dir = Path(learn_dir)
    info = json.loads(learn_file(learn_dir, "run_info").read_text())
    predictions = read_predictions(learn_file(learn_dir, "predictions"))
    null_file = learn_file(learn_dir, "permutation_null")
    null = read_null(null_file) if null_file.is_file() else {}
    settings, n_folds = info["settings"], int(info["n_folds"])
    if null:
        # The observed AUCs (no bootstrap needed), to restore the ties that rounding broke.
        quick = {**settings, "metrics": {**settings["metrics"], "bootstrap": 0}}
        observed = summarize(predictions, quick, n_folds)[0]
        null = restore_ties(null, observed)
    metrics, calibration = summarize(predictions, settings, n_folds, null)
    return {"metrics": metrics, "calibration": calibration}


def restore_ties(null: dict[tuple[str, str], list[float]], metrics: pd.DataFrame) -> dict:
    """Null AUCs equal to the observed AUC to the stored precision, set equal to it.

    AUCs are fractions (pairs ranked right over all pairs), so a permuted model often ties
    the observed AUC exactly; the p-value counts ties (``null >= observed``). Written with
    10 significant digits, a tied null value may come back a hair below the observed one and
    stop counting: within :data:`RELATIVE_TOLERANCE` it is the observed value again.
    """
    name = "roc_auc" if "roc_auc" in metrics.columns else "pearson_r"
    observed = {(r.model, r.modality): getattr(r, name) for r in metrics.itertuples()}
    out = {}
    for key, values in null.items():
        auc = observed.get(key, np.nan)
        out[key] = [
            auc
            if not (np.isnan(v) or np.isnan(auc))
            and math.isclose(v, auc, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
            else v
            for v in values
        ]
    return out


def _as_written(table: pd.DataFrame, folder: Path, name: str) -> tuple[bytes, pd.DataFrame]:
    """``table`` written as the stage writes it, and read back (same types as the stored one)."""
    path = write_tsv(table, folder / f"{name}.tsv")
    return path.read_bytes(), read_tsv(path)


def _agree(stored, recomputed) -> bool:
    missing = [pd.isna(v) if np.ndim(v) == 0 else False for v in (stored, recomputed)]
    if all(missing):
        return True
    if any(missing):
        return False
    if isinstance(stored, (int, float, np.number)) and isinstance(
        recomputed, (int, float, np.number)
    ):
        if isinstance(stored, (int, np.integer)) and isinstance(recomputed, (int, np.integer)):
            return int(stored) == int(recomputed)
        return math.isclose(
            float(stored),
            float(recomputed),
            rel_tol=RELATIVE_TOLERANCE,
            abs_tol=ABSOLUTE_TOLERANCE,
        )
    return str(stored) == str(recomputed)


def table_differences(
    stored: pd.DataFrame, recomputed: pd.DataFrame, keys: tuple[str, ...] = ("model", "modality")
) -> list[str]:
    """Cells of ``stored`` that disagree with ``recomputed``, one line each.

    Parameters
    ----------
    stored, recomputed : pandas.DataFrame
        As read from TSV files (:func:`psymodal.io.tables.read_tsv`).
    keys : tuple of str
        Columns naming a row in the messages.

    Returns
    -------
    list of str
        ``"<row>: <column> stored X, recomputed Y"``; columns or rows that differ are named.
    """
    if list(stored.columns) != list(recomputed.columns):
        return [f"columns: stored {list(stored.columns)}, recomputed {list(recomputed.columns)}"]
    if len(stored) != len(recomputed):
        return [f"rows: stored {len(stored)}, recomputed {len(recomputed)}"]
    out = []
    named = [k for k in keys if k in stored.columns]
    for i in range(len(stored)):
        row = " ".join(str(stored.iloc[i][k]) for k in named) or f"row {i + 1}"
        for column in stored.columns:
            a, b = stored.iloc[i][column], recomputed.iloc[i][column]
            if not _agree(a, b):
                out.append(f"{row}: {column} stored {a}, recomputed {b}")
    return out


def compare_recomputed(learn_dir: str | os.PathLike) -> dict[str, dict]:
    """Recompute the summary tables of ``learn_dir`` and compare them with the stored ones.

    Parameters
    ----------
    learn_dir : path-like

    Returns
    -------
    dict
        Table name -> ``{"identical": bool (same bytes), "differences": [str], "cells": int}``.
        A stored table that is missing has the single difference ``"missing"``.
    """
    learn_dir = Path(learn_dir)
    recomputed = recompute_tables(learn_dir)
    out = {}
    with tempfile.TemporaryDirectory(prefix="psymodal-recompute-") as tmp:
        for name in RECOMPUTED:
            path = learn_file(learn_dir, name)
            if not path.is_file():
                out[name] = {"identical": False, "differences": ["missing"], "cells": 0}
                continue
            data, table = _as_written(recomputed[name], Path(tmp), name)
            stored = read_tsv(path)
            keys = ("model", "modality", "bin") if name == "calibration" else ("model", "modality")
            out[name] = {
                "identical": data == path.read_bytes(),
                "differences": table_differences(stored, table, keys),
                "cells": int(stored.size),
            }
    return out
