"""Checks of the participants table made when the study is planned, before any job runs.

Identifiers become file names and command-line arguments: each must follow the BIDS label
grammar (``sub-`` and letters or digits only), so no value from a table can reach a shell or
leave the results folder. The label column must give exactly two classes, so that a mistyped
diagnosis is not counted silently as a control and a one-class study stops before hours of
feature work.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BIDS_LABEL",
    "ParticipantsTable",
    "check_labels",
    "check_participant_ids",
    "import_participants",
    "is_bids_label",
    "read_table",
    "write_table",
]

#: Cell texts that mean "missing" in a participants or phenotype table.
MISSING = ("", "n/a", "NA", "NaN", "nan")

#: A table as text: its column names and one mapping per row (None for a missing value). The
#: workflow plans a study from it without pandas, and file names are matched on this text.
ParticipantsTable = tuple[list[str], list[dict[str, str | None]]]


def _decode(raw: bytes, path) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_table(path: str | os.PathLike, missing: Sequence[str] = MISSING) -> ParticipantsTable:
    """Read a participants or phenotype table as text, whatever its delimiter or encoding.

    Tab-, comma- or semicolon-separated (the most frequent in the header line); UTF-8 with or
    without a byte-order mark, else Windows-1252; surrounding spaces stripped; ``missing``
    texts become None.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the table has no header line.
    """
    path = Path(path)
    text = _decode(path.read_bytes(), path)
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), None)
    if header is None:
        raise ValueError(f"{path} is empty: a header line (participant_id, ...) is expected.")
    delimiter = max("\t,;", key=header.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    columns = [c.strip() for c in rows[0]]
    missing = set(missing)
    table = []
    for cells in rows[1:]:
        values = [c.strip() for c in cells] + [""] * (len(columns) - len(cells))
        row = zip(columns, values, strict=False)  # cells past the header are dropped
        table.append({c: (v if v not in missing else None) for c, v in row})
    return columns, table


def write_table(columns: Sequence[str], rows: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Write rows as a BIDS TSV (``n/a`` for missing), atomically."""
    from psymodal.io.tables import atomic_write

    def text(value) -> str:
        return "n/a" if value is None else str(value)

    lines = ["\t".join(columns)]
    lines += ["\t".join(text(row.get(c)) for c in columns) for row in rows]
    content = "\n".join(lines) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(content))


def _rows(table) -> list[dict]:
    """Rows of a DataFrame or of a :data:`ParticipantsTable`'s row list, as mappings."""
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


def _columns(table) -> list[str]:
    if hasattr(table, "columns"):
        return [str(c) for c in table.columns]
    rows = list(table)
    return list(rows[0]) if rows else []


def _present(value) -> bool:
    return value is not None and value == value  # NaN != NaN


#: A BIDS label: letters and digits only (no "-", "_", "/", spaces or shell characters).
BIDS_LABEL = re.compile(r"[A-Za-z0-9]+")


def is_bids_label(value: str) -> bool:
    """Whether ``value`` is a valid BIDS label (the part after ``sub-``, ``task-``...)."""
    return isinstance(value, str) and BIDS_LABEL.fullmatch(value) is not None


def _row(table, position: int) -> str:
    """Where a row is in a TSV file: its line number (the header is line 1)."""
    return f"line {position + 2}"


def check_participant_ids(table: pd.DataFrame | list[dict], source: str | os.PathLike) -> None:
    """Refuse identifiers that are not ``sub-<label>`` or that repeat, naming the row.

    Raises
    ------
    ValueError
        With the file, the line and the offending value.
    """
    if "participant_id" not in _columns(table):
        raise ValueError(f"{source} has no participant_id column; BIDS requires one.")
    ids = [row["participant_id"] for row in _rows(table)]
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


def check_labels(
    table: pd.DataFrame | list[dict], source: str | os.PathLike, learn: Mapping
) -> None:
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
    if column not in _columns(table):
        raise ValueError(
            f"{source} has no {column!r} column (learn.label_column); columns: "
            f"{', '.join(_columns(table))}."
        )
    values = [str(row[column]) for row in _rows(table) if _present(row[column])]
    counts = {v: values.count(v) for v in sorted(set(values))}
    found = ", ".join(f"{v!r} ({n})" for v, n in counts.items()) or "none"
    if negative is None and len(counts) > 2:
        raise ValueError(
            f"{source}: {column!r} has {len(counts)} values ({found}); with two classes, "
            f"{positive!r} against everyone else, the others would be merged into one "
            f"negative class. Set learn.negative_label to the control value (other values are "
            "then excluded and recorded), or correct the table."
        )
    n_positive = values.count(str(positive))
    n_negative = values.count(str(negative)) if negative is not None else len(values) - n_positive
    if n_positive == 0 or n_negative == 0:
        wanted = f"{positive!r} and {negative!r}" if negative is not None else f"{positive!r}"
        raise ValueError(
            f"{source}: {column!r} gives one class only ({found}); learning needs both "
            f"{wanted} and controls. Check learn.positive_label / learn.negative_label."
        )


def import_participants(dataset: Mapping, output: str | os.PathLike, atlas: str | None = None):
    """Write the participants.tsv of a ``dataset.source: timeseries`` study to ``output``.

    Reads only the ``dataset`` section (and ``atlas``, the ``{atlas}`` of the file pattern),
    so that changing other settings leaves the file, and the MRI jobs that read it, as they
    are. See :func:`psymodal.mri.phenotype.timeseries_participants`.
    """
    from psymodal.mri.phenotype import timeseries_participants
    from psymodal.settings import resolve_section

    dataset = resolve_section("dataset", dataset)
    columns, rows = timeseries_participants(dataset, atlas)
    check_participant_ids(rows, dataset["participants"] or "participants.tsv")
    return write_table(columns, rows, output)
