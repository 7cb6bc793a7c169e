"""Privacy-utility curve of differentially private training: AUC and membership attack vs epsilon.

psymodal's learning stage (:func:`psymodal.learn.run`) is run once without privacy (the named
baselines: the l2 logistic regression, C = 1, and the torch fusion network) and once per epsilon
in ``--epsilons`` with ``dp_logistic`` (:mod:`psymodal.privacy.dp`, (epsilon, 0)-DP per fitted
model, rows clipped to ``sqrt(n_features)``, C = 1) and ``dp_fusion_net`` (the fusion network
trained with opacus DP-SGD, (epsilon, 1e-5)-DP, :mod:`psymodal.learn.fusion_torch`), stratified
5-fold x ``--repeats``, same folds. Printed per model: out-of-fold ROC AUC (repeat-averaged
probabilities), epsilon and delta as ``run_info.json`` records them, the loss-threshold
membership attack AUC and the offline LiRA attack AUC (``--reference-models``; means over
folds, :mod:`psymodal.learn.privacy`) and the model's own train AUC.

Studies:
- ABIDE 100 (``--abide``): Fisher-z AAL correlation connectomes, 6,670 edges (built as in
  ``benchmarks/learn_abide100.py``), autism vs control.
- the demo (``--demo-features``): the group feature tables of a finished demo run
  (``MODALITY=PATH`` pairs) and its participants.tsv (``--demo-participants``).

Usage::

    python benchmarks/privacy_dp.py --abide ../shared/data/abide100 \
        [--demo-participants P.tsv --demo-features mri=F.tsv speech=G.tsv] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.workflow.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_abide100 import build_tables  # noqa: E402


def curve(name, participants, features, out: Path, epsilons, repeats, fusion, lira) -> pd.DataFrame:
    """One learning run without privacy (the baselines: logistic, and the fusion network with
    ``fusion``), then one per epsilon with the DP models; a row per model and epsilon."""
    rows = []
    for epsilon in [None, *epsilons]:
        settings = {
            "models": ["logistic"] if epsilon is None else ["dp_logistic"],
            "cv": {"folds": 5, "repeats": repeats},
            "metrics": {"bootstrap": 0},
            "confound_baseline": False,
            "fusion": ["intermediate"] if fusion else [],
            "membership": {"reference_models": lira},
        }
        if epsilon is not None:
            settings["dp_logistic"] = {"epsilon": epsilon}
            settings["torch"] = {"dp_epsilon": epsilon}
        start = time.perf_counter()
        label = "none" if epsilon is None else f"{epsilon:g}"
        paths = run(participants, features, None, out / f"epsilon-{label}", settings)
        metrics = read_tsv(paths["metrics"]).set_index(["model", "modality"])
        attack = read_tsv(paths["membership_inference"]).set_index(["model", "modality"])
        info = json.loads(Path(paths["run_info"]).read_text())
        private = info["differential_privacy"] if "differential_privacy" in info else {}
        for (model, modality), row in metrics.iterrows():
            if (model, modality) not in attack.index:
                continue
            a = attack.loc[(model, modality)]
            guarantee = private[model] if model in private else {"epsilon": np.inf, "delta": 0}
            rows.append(
                {
                    "study": name,
                    "modality": modality,
                    "model": model,
                    "epsilon": guarantee["epsilon"],
                    "delta": guarantee["delta"],
                    "roc_auc": row["roc_auc"],
                    "loss_attack_auc": a["attack_auc_mean"],
                    "lira_auc": a["lira_auc_mean"],
                    "train_auc": a["train_auc_mean"],
                }
            )
        print(f"  {name} epsilon {label}: {time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abide", type=Path)
    parser.add_argument("--demo-participants", type=Path)
    parser.add_argument("--demo-features", nargs="*", default=[])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 3.0, 8.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_privacy_dp"))
    parser.add_argument(
        "--no-fusion", action="store_true", help="leave out the torch fusion network (opacus)"
    )
    parser.add_argument(
        "--reference-models", type=int, default=4, help="LiRA reference models (0: loss only)"
    )
    args = parser.parse_args(argv)
    _threads = limit_threads(1)  # noqa: F841
    tables = []
    if args.abide is not None:
        participants, connectomes = build_tables(args.abide, args.out / "abide_input")
        tables.append(
            curve("ABIDE 100", participants, {"mri": connectomes}, args.out / "abide",
                  args.epsilons, args.repeats, not args.no_fusion, args.reference_models)
        )  # fmt: skip
    if args.demo_participants is not None:
        features = dict(item.split("=", 1) for item in args.demo_features)
        tables.append(
            curve("demo", args.demo_participants, features, args.out / "demo", args.epsilons,
                  args.repeats, not args.no_fusion, args.reference_models)
        )  # fmt: skip
    table = pd.concat(tables, ignore_index=True)
    print(table.to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
