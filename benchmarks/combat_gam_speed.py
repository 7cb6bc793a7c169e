"""Cost of learn.harmonize: combat_gam (neuroHarmonize) against psymodal's ComBat.

One fit + transform of each harmoniser on generated data (90 subjects, three sites, age
protected; a spline in age for ComBat-GAM), single-threaded, CPU time.

Usage::

    python benchmarks/combat_gam_speed.py [--features 500]

Prints each CPU time and the ratio to psymodal's ComBat measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import numpy as np

from psymodal.learn.harmonize_gam import ComBatGAM
from psymodal.learn.transformers import ComBat
from psymodal.workflow.threads import limit_threads


def main(argv=None) -> int:
    """Time both harmonisers and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=500)
    args = parser.parse_args(argv)
    _threads = limit_threads(1)  # noqa: F841
    rng = np.random.default_rng(0)
    n, p = 90, args.features
    site, age = np.resize(np.arange(3), n), rng.uniform(8, 40, n)
    X = np.column_stack([rng.normal(size=(n, p)) + np.sin(age / 10)[:, None], site, age])
    seconds = {}
    for name, estimator in (
        ("combat", ComBat(site_column=p, covariate_columns=(p + 1,))),
        ("combat_gam", ComBatGAM(site_column=p, covariate_columns=(p + 1,), smooth=(0,))),
    ):
        start = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):  # neuroHarmonize prints a notice
            estimator.fit(X).transform(X)
        seconds[name] = time.process_time() - start
        print(f"{name:10s} {p} features: {seconds[name]:.2f} s CPU", flush=True)
    print(f"ratio combat_gam / combat: {seconds['combat_gam'] / seconds['combat']:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
