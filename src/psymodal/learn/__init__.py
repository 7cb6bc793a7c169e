"""Learning stage: feature assembly, leakage-free cross-validation, metrics.

Public API: :func:`assemble` (tables -> :class:`StudyData`), :func:`evaluate`
(:class:`StudyData` -> :class:`EvaluationResult`) and :func:`run` (tables -> written results).

Names are imported on first use, so that ``psymodal.learn.paths`` (read by the Snakefile at
every start) loads neither pandas nor scikit-learn. ``assemble`` is both a submodule and a
function: the package's class hands out the function whichever is imported first.
"""

import importlib
import sys
import types

_LAZY = {
    "StudyData": "assemble",
    "assemble": "assemble",
    "EvaluationResult": "cross_validation",
    "evaluate": "cross_validation",
    "run": "pipeline",
}

__all__ = ["EvaluationResult", "StudyData", "assemble", "evaluate", "run"]


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # the import system binds a loaded submodule to its parent's attribute: for
        # ``assemble`` the function is kept there instead
        if name == "assemble" and isinstance(value, types.ModuleType):
            value = value.assemble
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
