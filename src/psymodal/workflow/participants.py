"""Checks of the participants table made when the study is planned, before any job runs.

Identifiers become file names and command-line arguments: each must follow the BIDS label
grammar (``sub-`` and letters or digits only), so no value from a table can reach a shell or
leave the results folder. The label column must give exactly two classes, so that a mistyped
diagnosis is not counted silently as a control and a one-class study stops before hours of
feature work.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import pandas as pd

__all__ = ["BIDS_LABEL", "check_labels", "check_participant_ids", "is_bids_label"]

#: A BIDS label: letters and digits only (no "-", "_", "/", spaces or shell characters).
BIDS_LABEL = re.compile(r"[A-Za-z0-9]+")


def is_bids_label(value: str) -> bool:
    """Whether ``value`` is a valid BIDS label (the part after ``sub-``, ``task-``...)."""
    return isinstance(value, str) and BIDS_LABEL.fullmatch(value) is not None


def _row(table: pd.DataFrame, position: int) -> str:
    """Where a row is in a TSV file: its line number (the header is line 1)."""
    return f"line {position + 2}"


def check_participant_ids(table: pd.DataFrame, source: str | os.PathLike) -> None:
    """Refuse identifiers that are not ``sub-<label>`` or that repeat, naming the row.

    Raises
    ------
    ValueError
        With the file, the line and the offending value.
    """
    if "participant_id" not in table:
        raise ValueError(f"{source} has no participant_id column; BIDS requires one.")
    ids = table["participant_id"].tolist()
    for position, value in enumerate(ids):
        text = value if isinstance(value, str) else repr(value)
        if not (isinstance(value, str) and value.startswith("sub-")):
            raise ValueError(
                f"{source}, {_row(table, position)}: participant_id {text!r} must look like "
                "'sub-<label>'."
            )
        if not is_bids_label(value[len("sub-") :]):
            raise ValueError(
                f"{source}, {_row(table, position)}: participant_id {value!r} is not a BIDS "
                "label: after 'sub-' only letters and digits are allowed (no spaces, '-', "
                "'_', '/', '.' or other characters). Rename the participant in the table and "
                "in the file names."
            )
    seen: dict[str, int] = {}
    for position, value in enumerate(ids):
        if value in seen:
            raise ValueError(
                f"{source}, {_row(table, position)}: participant_id {value!r} is duplicated "
                f"(first on {_row(table, seen[value])})."
            )
        seen[value] = position


def check_labels(table: pd.DataFrame, source: str | os.PathLike, learn: Mapping) -> None:
    """The label column must hold two classes: ``positive_label`` and the controls.

    Without ``learn.negative_label``, every other value counts as a control, so a third value
    (a mistyped or another diagnosis) is refused rather than merged into the controls; with
    it, other values are excluded from learning (and recorded) as before.

    Raises
    ------
    ValueError
        Naming the column, the values found and the setting to change.
    """
    column, positive = learn["label_column"], learn["positive_label"]
    negative = learn["negative_label"]
    if column not in table:
        raise ValueError(
            f"{source} has no {column!r} column (learn.label_column); columns: "
            f"{', '.join(map(str, table.columns))}."
        )
    values = table[column].dropna().astype(str)
    counts = values.value_counts().sort_index()
    found = ", ".join(f"{v!r} ({n})" for v, n in counts.items()) or "none"
    if negative is None and len(counts) > 2:
        raise ValueError(
            f"{source}: {column!r} has {len(counts)} values ({found}); with two classes, "
            f"{positive!r} against everyone else, the others would be merged into one "
            f"negative class. Set learn.negative_label to the control value (other values are "
            "then excluded and recorded), or correct the table."
        )
    n_positive = int((values == positive).sum())
    n_negative = (
        int((values == negative).sum()) if negative is not None else len(values) - n_positive
    )
    if n_positive == 0 or n_negative == 0:
        wanted = f"{positive!r} and {negative!r}" if negative is not None else f"{positive!r}"
        raise ValueError(
            f"{source}: {column!r} gives one class only ({found}); learning needs both "
            f"{wanted} and controls. Check learn.positive_label / learn.negative_label."
        )
