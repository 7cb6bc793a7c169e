"""Added value of ABIDE 100 connectomes over the confounds, with the modality permutation p.

Builds the ABIDE 100 tables of ``benchmarks/learn_abide100.py`` (correlation connectomes,
6,670 Fisher-z AAL edges) and of ``benchmarks/learn_defaults_abide100.py`` (Ledoit-Wolf
covariances projected to tangent space inside every training fold), and runs
:func:`psymodal.learn.run` with ``learn.added_value`` (confounds age, sex, site, mean FD;
stratified 10-fold, seed 0, so every row shares the folds). The permutation test of the
modality given the confounds (``learn.added_value_permutations``) is timed on its own and
compared with the time of the run that produced the observed tables (the baseline).

Usage::

    python benchmarks/learn_added_value_abide100.py [--data ../shared/data/abide100]
        [--out /tmp/psymodal_added_value] [--features correlation tangent]
        [--permutations 99] [--jobs 1]

Prints, per feature kind: the confounds + connectome and confounds-alone ROC AUC, their
difference with the paired-bootstrap 95% CI, the bootstrap and permutation p-values, and the
permutation test's time as a ratio to the cross-validation run's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.learn.added_value import added_value_table, modality_permutation_null
from psymodal.learn.assemble import assemble
from psymodal.learn.settings import resolve
from psymodal.workflow.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_abide100 import DEFAULT_DATA, build_tables  # noqa: E402
from learn_defaults_abide100 import covariance_table  # noqa: E402


def main(argv=None) -> int:
    """Run the added-value analysis per feature kind and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_added_value"))
    parser.add_argument("--features", nargs="+", default=["correlation", "tangent"])
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.data / "phenotypic.csv").exists():
        print(f"no data at {args.data}; skipped")
        return 0
    _threads = limit_threads(1)  # noqa: F841
    participants, correlation = build_tables(args.data, args.out / "input")
    tables = {"correlation": (correlation, {})}
    if "tangent" in args.features:
        covariance = covariance_table(args.data, participants, args.out / "input")
        tables["tangent"] = (covariance, {"transforms": {"fmri": "tangent"}})
    for kind in args.features:
        table, extra = tables[kind]
        settings = {
            "models": ["logistic"],
            "fusion": [],
            "confounds": ["age", "sex", "site", "mean_fd"],
            "added_value": True,
            "added_value_permutations": 0,  # timed separately below
            "metrics": {"bootstrap": 1000},
            "cv": {"folds": 10, "n_jobs": args.jobs},
            **extra,
        }
        start = time.perf_counter()
        paths = run(participants, {"fmri": table}, None, args.out / kind, settings)
        cv_seconds = time.perf_counter() - start
        s = resolve({**settings, "added_value_permutations": args.permutations})
        data = assemble(participants, {"fmri": table}, None, s)
        start = time.perf_counter()
        null, notes = modality_permutation_null(data, s)
        null_seconds = time.perf_counter() - start
        result = added_value_table(read_tsv(paths["predictions"]), s, null).iloc[0]
        print(f"== {kind}: {notes[0]}")
        print(
            f"confounds + fmri AUC {result.confounds_plus_modality:.3f}, confounds alone "
            f"{result.confounds_alone:.3f}, difference {result.difference:+.3f} "
            f"[{result.difference_ci_low:+.3f}, {result.difference_ci_high:+.3f}], "
            f"bootstrap p {result.p_bootstrap:.3f}, permutation p {result.p_value:.3g} "
            f"(floor {result.p_value_floor:.3g}, n = {result.n_permutations})"
        )
        metrics = read_tsv(paths["metrics"]).set_index("modality")
        print(
            f"fmri alone AUC {metrics.loc['fmri', 'roc_auc']:.3f}; cross-validation run "
            f"{cv_seconds:.0f} s, permutation test {null_seconds:.0f} s "
            f"(ratio {null_seconds / cv_seconds:.1f}x for {args.permutations} permutations)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
