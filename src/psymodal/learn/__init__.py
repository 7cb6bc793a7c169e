"""Learning stage: feature assembly, leakage-free cross-validation, metrics.

Public API: :func:`assemble` (tables -> :class:`StudyData`), :func:`evaluate`
(:class:`StudyData` -> :class:`EvaluationResult`) and :func:`run` (tables -> written results).
"""

from psymodal.learn.assemble import StudyData, assemble
from psymodal.learn.evaluate import EvaluationResult, evaluate
from psymodal.learn.pipeline import run

__all__ = ["EvaluationResult", "StudyData", "assemble", "evaluate", "run"]
