"""The participants of a ready time-series study, from the phenotype table it was shared with.

``dataset.participants_format: abide`` reads an ABIDE phenotypic file as it is published
(the Preprocessed Connectomes Project's ``Phenotypic_V1_0b_preprocessed1.csv``, the original
``Phenotypic_V1_0b.csv`` or a recoded copy): comma-, tab- or semicolon-separated, with or
without a byte-order mark, ``-9999`` for missing values, ``DX_GROUP`` coded 1 = autism and
2 (or 0) = control. ``bids`` reads a participants.tsv.

Only the subjects whose time series ``dataset.timeseries_pattern`` finds are kept for ABIDE
(its table lists every ABIDE subject, a download holds some); a study in which no subject has
a file is an error that says what was searched.

This module imports no numerical library: the workflow plans a study with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from psymodal.workflow.participants import ParticipantsTable, read_table

from .timeseries_layout import (
    check_pattern,
    find_timeseries_files,
    pattern_fields,
    searched,
    subject_fields,
)

__all__ = ["read_abide_phenotype", "timeseries_participants"]

#: The participants.tsv columns made from an ABIDE phenotypic table.
ABIDE_COLUMNS = ["participant_id", "diagnosis", "age", "sex", "site", "mean_fd"]
_ABIDE_NEEDS = ("SUB_ID", "DX_GROUP", "AGE_AT_SCAN", "SEX", "SITE_ID")
# ABIDE codes missing values as -9999 (and sometimes -9999.0 or empty)
_ABIDE_MISSING = ("", "n/a", "NA", "NaN", "nan", "-9999", "-9999.0")
_DIAGNOSIS = {"1": "patient", "2": "control", "0": "control"}
_SEX = {"1": "M", "2": "F", "M": "M", "F": "F", "m": "M", "f": "F"}


def _integer_text(value: str | None) -> str | None:
    """'0050003' or '50003.0' -> '50003' (SUB_ID is a number, written in several ways)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() else value


def read_abide_phenotype(path: str | os.PathLike, keep: tuple[str, ...] = ()) -> ParticipantsTable:
    """ABIDE phenotypic table -> participants table (as text), sorted by participant_id.

    Columns: ``participant_id`` (``sub-<SUB_ID>``), ``diagnosis`` (``patient`` for
    DX_GROUP 1, ``control`` for 2 or 0), ``age`` (AGE_AT_SCAN), ``sex`` (M/F from 1/2),
    ``site`` (SITE_ID), ``mean_fd`` (func_mean_fd), then the phenotype columns in ``keep``
    (those a file pattern names, e.g. ``FILE_ID``). A repeated SUB_ID keeps its first row.

    Raises
    ------
    ValueError
        When a column ABIDE always has is missing (naming it and the columns found).
    """
    columns, rows = read_table(path, missing=_ABIDE_MISSING)
    lacking = [c for c in _ABIDE_NEEDS if c not in columns]
    if lacking:
        raise ValueError(
            f"{path}: not an ABIDE phenotypic table (lacks {', '.join(lacking)}; columns: "
            f"{', '.join(columns[:12])}{'...' if len(columns) > 12 else ''}). Set "
            "dataset.participants_format: bids for a participants.tsv."
        )
    out: dict[str, dict] = {}
    for row in rows:
        sub = _integer_text(row["SUB_ID"])
        if sub is None or f"sub-{sub}" in out:
            continue
        record = {
            "participant_id": f"sub-{sub}",
            "diagnosis": _DIAGNOSIS.get(_integer_text(row["DX_GROUP"]) or ""),
            "age": row["AGE_AT_SCAN"],
            "sex": _SEX.get(_integer_text(row["SEX"]) or ""),
            "site": row["SITE_ID"],
            "mean_fd": row.get("func_mean_fd"),
        }
        record.update({c: row.get(c) for c in keep if c not in ABIDE_COLUMNS})
        out[record["participant_id"]] = record
    extra = [c for c in keep if c not in ABIDE_COLUMNS]
    return ABIDE_COLUMNS + extra, [out[k] for k in sorted(out)]


def timeseries_participants(dataset: Mapping, atlas: str | None = None) -> ParticipantsTable:
    """The participants of a ``dataset.source: timeseries`` study, with their files found.

    Parameters
    ----------
    dataset : mapping
        The config's effective ``dataset`` section (``participants``,
        ``participants_format``, ``timeseries_dir``, ``timeseries_pattern``).
    atlas : str, optional
        ``mri.timeseries.atlas_name``, the value of an ``{atlas}`` placeholder.

    Returns
    -------
    columns, rows
        For ABIDE, only the subjects with at least one file; for ``bids``, every row (a
        subject without a file gets a QC row saying what was looked for).

    Raises
    ------
    ValueError
        When the pattern names an unknown column, or when no subject has a file: the message
        gives the folder, the pattern and the path it gives for the first subjects.
    """
    pattern, root = dataset["timeseries_pattern"], dataset["timeseries_dir"]
    if root is None:
        raise ValueError("dataset.source timeseries needs dataset.timeseries_dir.")
    source = Path(dataset["participants"] or Path(dataset["bids_dir"]) / "participants.tsv")
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} not found: dataset.participants must name the study's phenotype or "
            "participants table."
        )
    abide = dataset["participants_format"] == "abide"
    if abide:
        raw_columns, _ = read_table(source, missing=_ABIDE_MISSING)
        check_pattern(pattern, raw_columns, atlas, source)
        keep = tuple(f for f in pattern_fields(pattern) if f in raw_columns)
        columns, rows = read_abide_phenotype(source, keep)
    else:
        columns, rows = read_table(source)
        check_pattern(pattern, columns, atlas, source)
    found = [
        bool(find_timeseries_files(root, pattern, subject_fields(r["participant_id"], r, atlas)))
        for r in rows
        if r.get("participant_id")
    ]
    if not any(found):
        examples = "; ".join(
            searched(root, pattern, subject_fields(r["participant_id"], r, atlas))
            for r in rows[:3]
            if r.get("participant_id")
        )
        raise ValueError(
            f"no time series found for any of the {len(rows)} subjects of {source}: "
            f"searched {Path(root) / pattern} (dataset.timeseries_dir / "
            f"dataset.timeseries_pattern), e.g. {examples or 'no subject'}. Check these two "
            "settings against the files' names; placeholders are {label}, {participant_id}, "
            "{atlas} and the table's columns, and * ? ** are globs."
        )
    if abide:
        rows = [r for r, has in zip(rows, found, strict=True) if has]
    return columns, rows
