"""Learning stage: feature assembly, leakage-free cross-validation, metrics.

Public API: :func:`assemble` (tables -> :class:`StudyData`), :func:`evaluate`
(:class:`StudyData` -> :class:`EvaluationResult`) and :func:`run` (tables -> written results).

Names are imported on first use, so that ``psymodal.learn.paths`` (read by the Snakefile at
every start) does not load scikit-learn. ``assemble`` is both a submodule and a function: it
is imported here at once (it is cheap), so the function always wins.
"""

import importlib

from psymodal.learn.assemble import StudyData, assemble

_LAZY = {
    "EvaluationResult": "cross_validation",
    "evaluate": "cross_validation",
    "run": "pipeline",
}

__all__ = ["EvaluationResult", "StudyData", "assemble", "evaluate", "run"]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
