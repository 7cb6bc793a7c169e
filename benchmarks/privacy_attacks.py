"""Re-identification and attribute inference from released connectomes: ABIDE 100.

Reads the DPARSF ROI time series (AAL, 116 regions) from ``../shared/data/abide100`` and builds,
per subject, Fisher-z correlation connectomes (6,670 edges) of the first and second half of the
run and of the whole run; edges undefined in any subject (an empty region) are dropped.

- Connectome fingerprinting (Finn et al. 2015): each half-run connectome is matched to the
  other-half connectome it correlates with most; top-1 identification rate in both directions
  (mean), against chance (1/n), the named baseline.
- Attribute inference (what a released connectome says about its owner): sex (ROC AUC, chance
  0.5) and age (MAE against predicting the training folds' mean) from the whole-run connectome,
  5-fold CV with the attacker's model fitted on training folds, median over 5 seeds.

Usage::

    python benchmarks/privacy_attacks.py [--data ../shared/data/abide100] [--seeds 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from psymodal.privacy.attacks import attribute_inference, identification_rate
from psymodal.workflow.threads import limit_threads

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "abide100"


def connectome(signals: np.ndarray) -> np.ndarray:
    """Fisher-z correlation upper triangle; constant (empty) regions give NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(signals.T)
    upper = r[np.triu_indices_from(r, k=1)]
    return np.arctanh(np.clip(upper, -0.999999, 0.999999))


def load(data_dir: Path):
    files = sorted((data_dir / "Functional").glob("*.mat"))
    ids = [int(f.stem) for f in files]
    pheno = pd.read_csv(data_dir / "phenotypic.csv").drop_duplicates("SUB_ID")
    pheno = pheno.set_index("SUB_ID").loc[ids]
    halves, whole = ([], []), []
    for f in files:
        signals = scipy.io.loadmat(f)["ROISignals"].astype(np.float64)
        middle = len(signals) // 2
        halves[0].append(connectome(signals[:middle]))
        halves[1].append(connectome(signals[middle:]))
        whole.append(connectome(signals))
    first, second, whole = np.array(halves[0]), np.array(halves[1]), np.array(whole)
    keep = np.all(np.isfinite(first) & np.isfinite(second) & np.isfinite(whole), axis=0)
    return first[:, keep], second[:, keep], whole[:, keep], pheno, len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    limit_threads(1)
    start = time.perf_counter()
    first, second, whole, pheno, n = load(args.data)
    print(f"{n} subjects, {first.shape[1]} edges defined in all of them")
    forward = identification_rate(first, second)
    backward = identification_rate(second, first)
    rate = (forward + backward) / 2
    print(
        f"fingerprinting (half-run -> other half): top-1 {rate:.3f} "
        f"({forward:.3f} / {backward:.3f}); chance {1 / n:.3f}; ratio to chance {rate * n:.0f}x"
    )
    by_site = []
    for site in sorted(pheno["SITE_ID"].unique()):
        rows = np.flatnonzero(pheno["SITE_ID"].to_numpy() == site)
        site_rate = identification_rate(first[rows], second[rows])
        by_site.append(f"{site} {site_rate:.3f} (n={len(rows)}, chance {1 / len(rows):.3f})")
    print("  within site (first -> second): " + "; ".join(by_site))
    sex = pheno["SEX"].to_numpy()
    age = pheno["AGE_AT_SCAN"].to_numpy(dtype=float)
    aucs, maes, bases = [], [], []
    for seed in range(args.seeds):
        aucs.append(attribute_inference(whole, sex, "binary", seed=seed)["auc"])
        result = attribute_inference(whole, age, "continuous", seed=seed)
        maes.append(result["mae"])
        bases.append(result["baseline_mae"])
    print(
        f"sex from the connectome: ROC AUC {np.median(aucs):.3f} (seeds {min(aucs):.3f}-"
        f"{max(aucs):.3f}; chance 0.5; {int(np.sum(sex == 2))} female of {n})"
    )
    print(
        f"age from the connectome: MAE {np.median(maes):.2f} y vs {np.median(bases):.2f} y "
        f"predicting the mean; ratio {np.median(maes) / np.median(bases):.2f}"
    )
    one_hot = pd.get_dummies(pheno["SITE_ID"]).to_numpy(dtype=float)
    site_maes = [
        attribute_inference(one_hot, age, "continuous", seed=seed)["mae"]
        for seed in range(args.seeds)
    ]
    print(f"age from the site alone: MAE {np.median(site_maes):.2f} y (what the site already says)")
    print(f"wall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
