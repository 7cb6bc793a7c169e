"""What the learning stage imputes, recorded beside its results (``run_info.json``).

Missing feature values are filled inside every training fold by the fold's medians
(:class:`psymodal.learn.transformers.MedianImputer`). Some are missing by definition, not by
failure: a short clip without a pause has no pause duration (the speech stage's QC field
``pause_free_recordings`` counts such recordings). The record lists, per modality, how many
values of each feature were missing among the subjects that have the modality, so that the
imputation a model depended on can be traced in its outputs.
"""

from __future__ import annotations

from psymodal.learn.assemble import StudyData

__all__ = ["IMPUTER", "imputation_record"]

#: The imputer of every learning pipeline, as recorded in ``run_info.json``.
IMPUTER = (
    "median of the training fold (MedianImputer), fitted inside each fold; a feature missing "
    "in every training subject of a fold is set to 0, which is constant after scaling"
)


def imputation_record(data: StudyData) -> dict:
    """The imputer and the missing values it fills, per modality and feature.

    Parameters
    ----------
    data : StudyData
        The assembled study (:func:`psymodal.learn.assemble.assemble`).

    Returns
    -------
    dict
        ``imputer``: :data:`IMPUTER`; ``missing_values``: modality -> {feature: number of
        subjects with the modality whose value is missing}, features without a missing value
        left out (so an empty dict means nothing was imputed within available modalities).
        Subjects without a modality at all are counted in ``run_info.json``'s ``available``.
    """
    missing: dict[str, dict[str, int]] = {}
    for modality, columns in data.blocks.items():
        block = data.X.loc[data.available[modality].to_numpy(), columns]
        counts = block.isna().sum()
        prefix = f"{modality}__"
        missing[modality] = {
            str(name).removeprefix(prefix): int(n) for name, n in counts.items() if n > 0
        }
    return {"imputer": IMPUTER, "missing_values": missing}
