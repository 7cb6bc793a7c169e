"""Atomic, deterministic reading and writing of the TSV and JSON files psymodal produces.

Every file is written to a temporary name in the target folder and renamed into place, so an
interrupted run never leaves a half-written output. Floats are written with a fixed format so
that reruns are byte-identical.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: planning a workflow needs no numpy or pandas
    import numpy as np
    import pandas as pd

FLOAT_FORMAT = "%.10g"

#: Cells pandas reads as missing (its default NA strings and psymodal's "n/a").
_NA_TEXT = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"]
    + ["1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary file keeps the target's suffixes (``.nii.gz``, ``.tsv``...) so that
    writers which infer the format from the name work unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    # mkstemp makes owner-only files; outputs follow the umask like any other file
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_tsv(table: pd.DataFrame, path: str | os.PathLike, index: bool = False) -> Path:
    """Write a tab-separated table atomically with a fixed float format and 'n/a' for missing.

    Tables of float, integer, boolean and text columns are formatted here, with the bytes
    pandas' ``to_csv`` gives them (it formats cell by cell through Python objects: 0.1 s for a
    200 x 111 time series); other tables go through pandas.
    """
    text = None if index else _table_text(table)
    if text is None:
        return atomic_write(
            path,
            lambda tmp: table.to_csv(
                tmp,
                sep="\t",
                index=index,
                float_format=FLOAT_FORMAT,
                na_rep="n/a",
                lineterminator="\n",
            ),
        )
    return _write_text(text, path)


def _write_text(text: str, path: str | os.PathLike) -> Path:
    data = text.encode("utf-8")
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _format_float(value: float) -> str:
    return "n/a" if math.isnan(value) else FLOAT_FORMAT % value


def _float_lines(matrix: np.ndarray) -> list[str]:
    """Each row of a float matrix as tab-separated FLOAT_FORMAT cells, 'n/a' for NaN.

    One %-formatting per row (not per cell); '%g' writes every NaN as 'nan', a text no
    number contains, so the missing cells are renamed in the row text.
    """
    import numpy as np

    if matrix.shape[1] == 0:
        return [""] * matrix.shape[0]
    template = "\t".join([FLOAT_FORMAT] * matrix.shape[1])
    lines = [template % tuple(row) for row in matrix.tolist()]
    if np.isnan(matrix).any():
        lines = [line.replace("nan", "n/a") for line in lines]
    return lines


def _csv_line(fields: list[str]) -> str:
    """One row as pandas' csv writer writes it (minimal quoting), without the line end."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(
        fields
    )
    return buffer.getvalue()[:-1]


def _is_missing(value) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _column_cells(column: pd.Series) -> list[str] | None:
    """The cells pandas' ``to_csv`` writes for one column, or None for a dtype not handled."""
    import numpy as np
    import pandas as pd

    kind = column.dtype.kind
    if column.dtype == "float64":
        return _float_lines(column.to_numpy().reshape(-1, 1))
    if column.dtype == "int64":
        return [str(v) for v in column.to_numpy().tolist()]
    if column.dtype == "bool":
        return ["True" if v else "False" for v in column.to_numpy().tolist()]
    if kind == "O" or isinstance(column.dtype, pd.StringDtype):
        cells = []
        for value in column.tolist():
            if _is_missing(value):
                cells.append("n/a")
            elif isinstance(value, str | bool | np.bool_):
                cells.append(str(value))
            else:  # numbers, lists... in an object column: the csv writer's rules
                return None
        return cells
    return None


def _table_text(table: pd.DataFrame) -> str | None:
    """``table`` as ``write_tsv`` writes it (no index), or None when pandas must write it."""
    names = list(table.columns)
    if not names or not all(isinstance(n, str) for n in names) or len(set(names)) < len(names):
        return None
    header = _csv_line(names)
    if all(dtype == "float64" for dtype in table.dtypes):  # time series: the fast case
        return "\n".join([header, *_float_lines(table.to_numpy())]) + "\n"
    columns = []
    for name in names:
        cells = _column_cells(table[name])
        if cells is None:
            return None
        columns.append(cells)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(zip(*columns, strict=True))
    return header + "\n" + buffer.getvalue()


def write_row_tsv(
    participant_id: str, values, columns, path: str | os.PathLike, first: str = "participant_id"
) -> Path:
    """Write a one-row table of an identifier and float values, as :func:`write_tsv` would.

    The bytes are those of ``write_tsv`` on the equivalent DataFrame (same float format,
    ``n/a``, header quoting); building that DataFrame costs more than writing it (about a
    second for a connectome row of 6,000 edges), so per-subject feature rows take this path.
    """
    import numpy as np

    values = np.asarray(values, dtype=float).reshape(1, -1)
    row = _csv_line([participant_id, ""])[:-1]  # quoted as in a row of several fields
    if values.size:
        row += "\t" + _float_lines(values)[0]
    return _write_text(f"{_csv_line([first, *columns])}\n{row}\n", path)


def read_tsv(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read a psymodal/BIDS TSV ('n/a' means missing)."""
    import pandas as pd

    return pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=True, **kwargs)


def write_json(obj, path: str | os.PathLike) -> Path:
    """Write JSON atomically with sorted keys, so equal content gives equal bytes."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def concat_rows(paths: list[str | os.PathLike], out: str | os.PathLike) -> pd.DataFrame:
    """Stack one-row-per-subject tables into one table sorted by ``participant_id``.

    Columns are the union over inputs in first-seen order; a column absent from one input is
    missing (n/a) for its rows, never shifted. Returns the table written
    (:func:`stack_rows` writes the same file without building it).
    """
    text = _stacked_text(paths)
    if text is None:
        return _concat_with_pandas(paths, out)
    _write_text(text, out)
    return read_tsv(out)


def stack_rows(paths: list[str | os.PathLike], out: str | os.PathLike) -> int:
    """Write :func:`concat_rows`' output and return its number of rows.

    Tables that psymodal wrote (numbers in ``write_tsv``'s format, text, n/a) are stacked as
    text, with the bytes that reading them with pandas and writing the result gives, in a
    fraction of the time (a study's connectome table: 871 x 6,105 cells); anything else (cells
    pandas would re-format, quoted fields) goes through pandas.
    """
    text = _stacked_text(paths)
    if text is None:
        return len(_concat_with_pandas(paths, out))
    _write_text(text, out)
    return text.count("\n") - 1


def _concat_with_pandas(paths, out) -> pd.DataFrame:
    import pandas as pd

    tables = [read_tsv(p) for p in paths]
    table = pd.concat(tables, ignore_index=True, sort=False) if tables else pd.DataFrame()
    if "participant_id" in table:
        table = table.sort_values("participant_id", kind="stable").reset_index(drop=True)
    write_tsv(table, out)
    return table


# A number written with FLOAT_FORMAT (%.10g: at most 10 significant digits, no trailing zeros,
# exponent only below 1e-4 or from 1e10, normal range) or an integer below 1e10: pandas reads
# it as a float or an integer and writes it back unchanged. Signed zero is left out ("-0" is
# read as the integer 0).
_FIXED = "|".join(
    [rf"[1-9]\d{{{k - 1}}}(?:\.\d{{0,{9 - k}}}[1-9])?" for k in range(1, 10)]
    + [r"[1-9]\d{9}", r"0\.0{0,3}[1-9](?:\d{0,8}[1-9])?"]
)
_EXPONENT = r"[1-9](?:\.\d{0,8}[1-9])?e(?:-(?:0[5-9]|[1-9]\d|[12]\d\d)|\+(?:[1-9]\d|[12]\d\d))"
_NUMBER = rf"(?:-?(?:{_FIXED}|{_EXPONENT}|inf)|0)"
_NUMBER_CELL = re.compile(_NUMBER)
_NUMERIC_CELLS = re.compile(rf"(?:\t(?:n/a|{_NUMBER}))*")


def _read_rows(path) -> tuple[list[str], list[str]] | None:
    """Header fields and data lines of a TSV that can be stacked as text, else None."""
    text = Path(path).read_text(encoding="utf-8")
    if '"' in text or "\r" in text or not text.endswith("\n"):
        return None  # quoted fields, other line ends: pandas' parser decides
    lines = text[:-1].split("\n")
    header = lines[0].split("\t")
    rows = lines[1:]
    if not rows or "" in rows or "" in header or len(set(header)) < len(header):
        return None  # no rows (columns typed object), blank lines, unnamed/duplicate columns
    return header, rows


def _text_cell_ok(cell: str) -> bool:
    """A cell pandas keeps as text (or reads as missing) and writes back unchanged."""
    if cell in _NA_TEXT:
        return True
    try:
        float(cell)
    except ValueError:
        return cell.lower() not in ("true", "false") or cell in ("True", "False")
    return False  # a number in another spelling: pandas would re-format it


def _stacked_text(paths) -> str | None:
    """The text of ``concat_rows``' output when every input can be stacked as text."""
    tables = []
    for path in paths:
        read = _read_rows(path)
        if read is None:
            return None
        tables.append(read)
    if not tables:
        return None
    first = tables[0][0]
    if all(header == first for header, _ in tables):  # the usual case: one layout
        columns = list(first)
    else:
        columns = list(dict.fromkeys(name for header, _ in tables for name in header))
    key = columns.index("participant_id") if "participant_id" in columns else None
    text_columns = set()  # columns holding cells that are neither numbers nor missing
    out = []
    for header, rows in tables:
        width = len(header)
        same = header == columns
        first_numeric = 1 if header[0] == "participant_id" else 0
        for line in rows:
            cells = line.split("\t")
            if len(cells) != width:
                return None
            numeric = _NUMERIC_CELLS.fullmatch(
                line[len(cells[0]) :] if first_numeric else "\t" + line
            )
            if not numeric:
                for name, cell in zip(header, cells, strict=True):
                    if _NUMBER_CELL.fullmatch(cell) is None and cell != "n/a":
                        if not _text_cell_ok(cell):
                            return None
                        if cell not in _NA_TEXT:
                            text_columns.add(name)
                cells = ["n/a" if c in _NA_TEXT else c for c in cells]
            if same:
                out.append(cells)
            else:
                by_name = dict(zip(header, cells, strict=True))
                out.append([by_name.get(name, "n/a") for name in columns])
    if text_columns and _mixed(out, columns, text_columns):
        return None
    if key is not None:
        ids = [row[key] for row in out]
        if any(not _text_cell_ok(i) or i in _NA_TEXT for i in ids):
            return None  # missing or numeric identifiers: pandas' sort rules
        order = sorted(range(len(out)), key=ids.__getitem__)
        out = [out[i] for i in order]
    return "\n".join(["\t".join(columns), *("\t".join(row) for row in out)]) + "\n"


def _mixed(rows: list[list[str]], columns: list[str], text_columns: set[str]) -> bool:
    """Whether a column holds both text and numbers (pandas writes its numbers with str())."""
    for name in text_columns:
        k = columns.index(name)
        if any(r[k] != "n/a" and _NUMBER_CELL.fullmatch(r[k]) for r in rows):
            return True
    return False
