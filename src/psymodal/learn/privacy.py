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

The loss threshold treats every person alike, but some people are hard to predict whether
they were trained on or not (an atypical patient has a high loss either way). The stronger
attack calibrates each person's threshold with reference models that were *not* trained on
them: the offline likelihood-ratio attack (LiRA, Carlini et al. 2022, "Membership inference
attacks from first principles", IEEE S&P; offline variant with a fixed variance, their
recommendation with few reference models). ``learn.membership.reference_models`` models are
fitted, with the evaluation's own procedure, on complementary stratified halves of the
analysis' subjects (pairs of halves: every subject is out of exactly half of them); a person's
score is how far the target model's confidence in their true label (its logit) lies above the
mean confidence of the reference models that did not see them, in units of the pooled SD:

- ``lira_auc``: ROC AUC of that score for members against non-members;
- ``lira_advantage``: its best threshold's true-positive minus false-positive rate.

The reference models cost ``reference_models`` fits per analysis (not per fold).
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
    "lira_auc_mean",
    "lira_auc_sd",
    "lira_advantage_mean",
    "n_reference_models",
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


def true_label_logit(y: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """``log(p_y / (1 - p_y))``: the model's confidence in each subject's true label on the
    logit scale (near-Gaussian across models, which the likelihood ratio assumes)."""
    p = np.clip(np.asarray(probability, dtype=float), _EPS, 1.0 - _EPS)
    p_true = np.where(np.asarray(y).astype(bool), p, 1.0 - p)
    return np.log(p_true) - np.log1p(-p_true)


def reference_halves(y: np.ndarray, n_models: int, seed: int) -> list[np.ndarray]:
    """Training masks of the reference models: ``n_models // 2`` stratified splits of the
    subjects into two halves, each half one model, so every subject is out of exactly
    ``n_models // 2`` of them."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    masks = []
    for pair in range(n_models // 2):
        halves = StratifiedKFold(2, shuffle=True, random_state=seed + pair)
        for train, _ in halves.split(np.zeros(len(y)), y):
            mask = np.zeros(len(y), dtype=bool)
            mask[train] = True
            masks.append(mask)
    return masks


def lira_attack(
    y_members: np.ndarray,
    p_members: np.ndarray,
    reference_members: np.ndarray,
    y_nonmembers: np.ndarray,
    p_nonmembers: np.ndarray,
    reference_nonmembers: np.ndarray,
) -> dict:
    """Offline likelihood-ratio membership attack (LiRA, fixed variance) on one fitted model.

    Parameters
    ----------
    y_members, p_members : numpy.ndarray
        Labels and the target model's probabilities of class 1 for its training subjects.
    reference_members : numpy.ndarray of shape (n_members, n_reference)
        Probabilities of class 1 from the reference models; NaN where the reference model was
        trained on the subject (only models that did not see a subject calibrate it).
    y_nonmembers, p_nonmembers, reference_nonmembers : numpy.ndarray
        The same for held-out subjects.

    Returns
    -------
    dict
        ``lira_auc`` and ``lira_advantage``; NaN when a group is empty or no subject has a
        reference model that did not see it.
    """
    y = np.r_[np.asarray(y_members), np.asarray(y_nonmembers)]
    target = true_label_logit(y, np.r_[p_members, p_nonmembers])
    reference = np.vstack([reference_members, reference_nonmembers]).astype(float)
    seen = np.isfinite(reference)
    logits = np.where(seen, true_label_logit(y[:, None], np.where(seen, reference, 0.5)), np.nan)
    member = np.r_[np.ones(len(p_members), dtype=int), np.zeros(len(p_nonmembers), dtype=int)]
    calibrated = seen.any(axis=1)
    out = {"lira_auc": np.nan, "lira_advantage": np.nan}
    if not calibrated.any():
        return out
    with np.errstate(all="ignore"):
        mean = np.nanmean(logits[calibrated], axis=1)
        spread = np.nanstd(logits[calibrated] - mean[:, None])
    score = (target[calibrated] - mean) / (spread if spread > 0 else 1.0)
    member = member[calibrated]
    if member.all() or not member.any():
        return out
    fpr, tpr, _ = roc_curve(member, score)
    out["lira_auc"] = roc_auc(member, score)
    out["lira_advantage"] = float(np.max(tpr - fpr))
    return out


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
                **_lira_summary(group),
                "train_auc_mean": float(group["train_auc"].mean()),
                "test_auc_mean": float(group["test_auc"].mean()),
                "n_folds": int(len(auc)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _lira_summary(group: pd.DataFrame) -> dict:
    auc = group["lira_auc"].dropna() if "lira_auc" in group else pd.Series(dtype=float)
    return {
        "lira_auc_mean": float(auc.mean()) if len(auc) else np.nan,
        "lira_auc_sd": float(auc.std(ddof=1)) if len(auc) > 1 else np.nan,
        "lira_advantage_mean": float(group["lira_advantage"].mean()) if len(auc) else np.nan,
        "n_reference_models": int(group["n_reference_models"].iloc[0])
        if "n_reference_models" in group
        else 0,
    }
