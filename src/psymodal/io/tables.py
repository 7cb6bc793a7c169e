"""Atomic, deterministic reading and writing of the TSV and JSON files psymodal produces.

Every file is written to a temporary name in the target folder and renamed into place, so an
interrupted run never leaves a half-written output. Floats are written with a fixed format so
that reruns are byte-identical.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: planning a workflow needs no pandas
    import pandas as pd

FLOAT_FORMAT = "%.10g"


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
    """Write a tab-separated table atomically with a fixed float format and 'n/a' for missing."""
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
    missing (n/a) for its rows, never shifted.
    """
    import pandas as pd

    tables = [read_tsv(p) for p in paths]
    table = pd.concat(tables, ignore_index=True, sort=False) if tables else pd.DataFrame()
    if "participant_id" in table:
        table = table.sort_values("participant_id", kind="stable").reset_index(drop=True)
    write_tsv(table, out)
    return table
