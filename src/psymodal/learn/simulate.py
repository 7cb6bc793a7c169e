"""Simulated multimodal studies with known signal, for tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import write_tsv


def simulate_study(
    n_subjects: int = 80,
    n_features: dict[str, int] | None = None,
    signal: dict[str, float] | None = None,
    n_informative: int = 5,
    n_sites: int = 2,
    site_shift: float = 0.0,
    site_label_correlation: float = 0.0,
    missing: dict[str, float] | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Simulate participants.tsv and per-modality feature tables.

    Parameters
    ----------
    n_subjects : int
    n_features : dict
        Modality -> number of features (default ``{"mri": 30, "speech": 10}``).
    signal : dict
        Modality -> mean shift (in SD) of its first ``n_informative`` features in patients.
    n_informative : int
    n_sites : int
    site_shift : float
        SD of a per-site, per-feature additive offset (a scanner effect).
    site_label_correlation : float
        0 gives sites independent of diagnosis; towards 1 site k holds mostly one class.
    missing : dict
        Modality -> fraction of subjects without that modality (row absent from its table).
    seed : int

    Returns
    -------
    participants : pandas.DataFrame
    features : dict of str to pandas.DataFrame
    """
    n_features = n_features or {"mri": 30, "speech": 10}
    signal = signal or {}
    missing = missing or {}
    rng = np.random.default_rng(seed)
    y = np.zeros(n_subjects, dtype=int)
    y[: n_subjects // 2] = 1
    y = rng.permutation(y)
    site = rng.integers(0, n_sites, n_subjects)
    if site_label_correlation > 0:
        # With probability `site_label_correlation` the site follows the label.
        follow = rng.random(n_subjects) < site_label_correlation
        site = np.where(follow, y % n_sites, site)
    ids = [f"sub-{i + 1:04d}" for i in range(n_subjects)]
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "diagnosis": np.where(y == 1, "patient", "control"),
            "age": np.round(rng.normal(30, 8, n_subjects), 1),
            "sex": rng.choice(["F", "M"], n_subjects),
            "site": [f"site{k}" for k in site],
        }
    )
    tables = {}
    for modality, n_feat in n_features.items():
        X = rng.normal(size=(n_subjects, n_feat))
        X[:, :n_informative] += signal.get(modality, 0.0) * y[:, None]
        if site_shift:
            offsets = rng.normal(0, site_shift, size=(n_sites, n_feat))
            X += offsets[site]
        table = pd.DataFrame(X, columns=[f"f{j:04d}" for j in range(n_feat)])
        table.insert(0, "participant_id", ids)
        drop = rng.random(n_subjects) < missing.get(modality, 0.0)
        tables[modality] = table[~drop].reset_index(drop=True)
    return participants, tables


def simulate_covariance_table(
    y: np.ndarray,
    regions: list[str],
    rng: np.random.Generator,
    coupling: float = 0.6,
    n_timepoints: int = 150,
    scale_sd: float = 0.7,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-subject region covariances as written by ``mri.connectivity: tangent``.

    Patients (``y == 1``) couple the first two regions by ``coupling``; every subject has its
    own global signal scale (log-normal, SD ``scale_sd``), a nuisance that tangent-space
    features remove and correlation-free covariances keep.

    Returns
    -------
    table : pandas.DataFrame
        Upper-triangle then diagonal covariance entries (no ``participant_id``).
    covariances : numpy.ndarray
        ``(n_subjects, n_regions, n_regions)``.
    """
    from psymodal.mri.connectome import feature_names

    p = len(regions)
    covs = []
    for label in y:
        mix = np.eye(p) + 0.15 * rng.standard_normal((p, p))
        if label:
            mix[1, 0] += coupling
        ts = rng.standard_normal((n_timepoints, p)) @ mix.T * np.exp(rng.normal(0, scale_sd))
        covs.append(np.cov(ts, rowvar=False))
    covs = np.stack(covs)
    iu, ju = np.triu_indices(p, k=1)
    d = np.arange(p)
    values = np.concatenate([covs[:, iu, ju], covs[:, d, d]], axis=1)
    return pd.DataFrame(values, columns=feature_names(regions, "tangent")), covs


def write_study(
    participants: pd.DataFrame, features: dict[str, pd.DataFrame], out_dir: str | os.PathLike
) -> tuple[Path, dict[str, Path]]:
    """Write a simulated study as participants.tsv and ``<modality>_features.tsv``."""
    out = Path(out_dir)
    ptsv = write_tsv(participants, out / "participants.tsv")
    paths = {m: write_tsv(t, out / f"{m}_features.tsv") for m, t in features.items()}
    return ptsv, paths
