"""The fast table writer and stacker give pandas' bytes (write_tsv / read_tsv + concat)."""

import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import (
    FLOAT_FORMAT,
    _concat_with_pandas,
    _stacked_text,
    _table_text,
    concat_rows,
    read_tsv,
    stack_rows,
    write_tsv,
)


def _pandas_text(table: pd.DataFrame) -> str:
    return table.to_csv(
        sep="\t", index=False, float_format=FLOAT_FORMAT, na_rep="n/a", lineterminator="\n"
    )


ODD = [np.nan, np.inf, -np.inf, 0.0, 1.0, 1e10, 9999999999.0, 1e-4, 9.99999e-5, 1.5e-299]


def _odd_floats(rng, n, extreme=True):
    """Floats of every magnitude; ``extreme`` adds signed zero and subnormals."""
    values = rng.normal(size=n) * 10.0 ** rng.integers(-320 if extreme else -298, 299, n)
    odd = ODD + ([-0.0, 5e-324, 1.7e308] if extreme else [])
    values[: len(odd)] = odd
    return values


def test_table_writer_gives_pandas_bytes():
    rng = np.random.default_rng(1)
    n = 40
    table = pd.DataFrame(
        {
            "participant_id": [f"sub-{i:02d}" for i in range(n)],
            "x": _odd_floats(rng, n),
            "z": _odd_floats(rng, n, extreme=False),
            "y": rng.normal(size=n),
            "n": rng.integers(-5, 10**12, n),
            "ok": rng.random(n) > 0.5,
            "reason": [["", "a\tb", 'q"uote', "line\nend", "plain", None][i % 6] for i in range(n)],
            "flag": [[True, None, False][i % 3] for i in range(n)],
        }
    )
    text = _table_text(table)
    assert text == _pandas_text(table)
    assert _table_text(table[["participant_id", "reason"]].astype("str")) is not None
    # types the fast writer leaves to pandas
    assert _table_text(table.assign(o=[1.5] * n)[["o"]].astype(object)) is None
    assert _table_text(table.astype({"y": "float32"})) is None


def test_write_tsv_fast_path_matches_pandas_on_a_time_series(tmp_path):
    rng = np.random.default_rng(2)
    ts = pd.DataFrame(rng.normal(size=(50, 20)), columns=[f"r {k}" for k in range(20)])
    ts.iloc[:, 3] = np.nan
    write_tsv(ts, tmp_path / "a.tsv")
    assert (tmp_path / "a.tsv").read_text() == _pandas_text(ts)


def _write_inputs(tmp_path, rng):
    """Per-subject tables as the stages write them, with excluded subjects and odd cells."""
    edges = [f"a{i}__b{i}" for i in range(30)]
    paths = []
    for k in range(12):
        values = _odd_floats(rng, len(edges), False) if k % 4 == 1 else rng.normal(size=len(edges))
        row = pd.DataFrame([values], columns=edges)
        if k == 5:
            row = row.iloc[:, :0]  # an excluded subject: participant_id only
        if k == 7:
            row = row[edges[::-1]]  # another column order
        row.insert(0, "participant_id", f"sub-{(k * 7) % 12:02d}")
        row["n_volumes"] = k * 10
        row["included"] = k % 3 != 0
        row["reason"] = "" if k % 3 else "too much motion; 3 runs"
        paths.append(write_tsv(row, tmp_path / f"{k}.tsv"))
    return paths


def test_stacked_text_gives_the_bytes_of_pandas_concat(tmp_path):
    rng = np.random.default_rng(3)
    paths = _write_inputs(tmp_path, rng)
    assert _stacked_text(paths) is not None
    assert stack_rows(paths, tmp_path / "fast.tsv") == 12
    _concat_with_pandas(paths, tmp_path / "pandas.tsv")
    assert (tmp_path / "fast.tsv").read_bytes() == (tmp_path / "pandas.tsv").read_bytes()
    table = concat_rows(paths, tmp_path / "again.tsv")
    assert list(table["participant_id"]) == sorted(table["participant_id"])
    assert read_tsv(tmp_path / "again.tsv").shape == table.shape


@pytest.mark.parametrize(
    "cell",
    ["1.50", "+1", ".5", "1E5", "-0", "12345678901", "true", "1e-320", " 1", "0.12345678912"],
)
def test_cells_pandas_would_rewrite_go_through_pandas(tmp_path, cell):
    (tmp_path / "a.tsv").write_text(f"participant_id\tx\nsub-02\t{cell}\n")
    (tmp_path / "b.tsv").write_text("participant_id\tx\nsub-01\t0.25\n")
    paths = [tmp_path / "a.tsv", tmp_path / "b.tsv"]
    assert _stacked_text(paths) is None
    stack_rows(paths, tmp_path / "out.tsv")
    _concat_with_pandas(paths, tmp_path / "pandas.tsv")
    assert (tmp_path / "out.tsv").read_bytes() == (tmp_path / "pandas.tsv").read_bytes()


def test_text_and_numbers_in_one_column_go_through_pandas(tmp_path):
    (tmp_path / "a.tsv").write_text("participant_id\tx\nsub-02\tabc\n")
    (tmp_path / "b.tsv").write_text("participant_id\tx\nsub-01\t0.25\n")
    assert _stacked_text([tmp_path / "a.tsv", tmp_path / "b.tsv"]) is None
