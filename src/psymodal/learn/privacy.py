"""Membership inference: do the fitted models give away who was in their training fold?

A model that memorises its training participants predicts them with lower loss than people
it has not seen, and an attacker holding a person's data and label can use that loss to tell
whether the person took part in the study (Yeom et al., 2018, "Privacy risk in machine
learning", the loss-threshold attack). For every outer fold and analysis the fitted model's
loss on its own training subjects (members) is compared with its loss on the held-out
subjects (non-members):

- ``attack_auc``: ROC AUC of the negative loss for members against non-members. 0.5 means
  the loss says nothing about membership; 1.0 means every member has a lower loss than every
  non-member.
- ``advantage``: the best threshold attack's true-positive minus false-positive rate
  (Yeom's membership advantage), between 0 and 1.

Both are computed from the same training and test rows the evaluation used, so they cost one
extra prediction per fold and fit nothing. Late fusion has no model of its own (it averages
the block models, which are audited), so it has no rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from psymodal.learn.metrics import roc_auc

#: Columns of :func:`membership_table`.
COLUMNS = [
    "model",
    "modality",
    "attack_auc_mean",
    "attack_auc_sd",
    "attack_auc_max",
    "advantage_mean",
    "train_auc_mean",
    "test_auc_mean",
    "n_folds",
]

_EPS = 1e-12


def log_loss_per_subject(y: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Cross-entropy of each subject's true label under the predicted probability of class 1."""
    p = np.clip(np.asarray(probability, dtype=float), _EPS, 1.0 - _EPS)
    y = np.asarray(y).astype(bool)
    return -np.where(y, np.log(p), np.log1p(-p))


def membership_attack(
    y_train: np.ndarray, p_train: np.ndarray, y_test: np.ndarray, p_test: np.ndarray
) -> dict:
    """Loss-threshold membership attack on one fitted model.

    Parameters
    ----------
    y_train, p_train : numpy.ndarray
        Labels and predicted probabilities of class 1 for the subjects the model was fitted
        on (members).
    y_test, p_test : numpy.ndarray
        The same for held-out subjects (non-members).

    Returns
    -------
    dict
        ``attack_auc``, ``advantage``, ``train_auc``, ``test_auc``, ``n_members``,
        ``n_nonmembers``. NaN where a group is empty (or, for the AUCs of the model itself,
        has one class).
    """
    loss = np.concatenate(
        [log_loss_per_subject(y_train, p_train), log_loss_per_subject(y_test, p_test)]
    )
    member = np.r_[np.ones(len(p_train), dtype=int), np.zeros(len(p_test), dtype=int)]
    attack_auc, advantage = np.nan, np.nan
    if len(p_train) and len(p_test):
        attack_auc = roc_auc(member, -loss)
        fpr, tpr, _ = roc_curve(member, -loss)
        advantage = float(np.max(tpr - fpr))
    return {
        "attack_auc": attack_auc,
        "advantage": advantage,
        "train_auc": roc_auc(y_train, p_train),
        "test_auc": roc_auc(y_test, p_test),
        "n_members": int(len(p_train)),
        "n_nonmembers": int(len(p_test)),
    }


def membership_table(fold_rows: pd.DataFrame) -> pd.DataFrame:
    """Summarise per-fold attacks into one row per (model, modality), in first-seen order.

    Parameters
    ----------
    fold_rows : pandas.DataFrame
        One row per fold and analysis: ``model``, ``modality`` and the keys of
        :func:`membership_attack`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; the SD is over folds (NaN with a single fold).
    """
    if fold_rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for (model, modality), group in fold_rows.groupby(["model", "modality"], sort=False):
        auc = group["attack_auc"].dropna()
        rows.append(
            {
                "model": model,
                "modality": modality,
                "attack_auc_mean": float(auc.mean()) if len(auc) else np.nan,
                "attack_auc_sd": float(auc.std(ddof=1)) if len(auc) > 1 else np.nan,
                "attack_auc_max": float(auc.max()) if len(auc) else np.nan,
                "advantage_mean": float(group["advantage"].mean()),
                "train_auc_mean": float(group["train_auc"].mean()),
                "test_auc_mean": float(group["test_auc"].mean()),
                "n_folds": int(len(auc)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
