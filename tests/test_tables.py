import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import (
    atomic_path,
    concat_rows,
    read_tsv,
    write_json,
    write_row_tsv,
    write_tsv,
)


def test_write_tsv_is_byte_identical_and_round_trips(tmp_path):
    table = pd.DataFrame({"participant_id": ["sub-02", "sub-01"], "x": [0.1 + 0.2, np.nan]})
    a = write_tsv(table, tmp_path / "a.tsv")
    b = write_tsv(table, tmp_path / "b.tsv")
    assert a.read_bytes() == b.read_bytes()
    assert "n/a" in a.read_text()
    back = read_tsv(a)
    assert np.isnan(back.loc[1, "x"])
    assert back.loc[0, "x"] == pytest.approx(0.3)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_concat_rows_aligns_columns_by_name(tmp_path):
    write_tsv(
        pd.DataFrame({"participant_id": ["sub-02"], "a": [1.0], "b": [2.0]}), tmp_path / "2.tsv"
    )
    write_tsv(pd.DataFrame({"participant_id": ["sub-01"], "b": [3.0]}), tmp_path / "1.tsv")
    table = concat_rows([tmp_path / "2.tsv", tmp_path / "1.tsv"], tmp_path / "all.tsv")
    assert list(table["participant_id"]) == ["sub-01", "sub-02"]
    assert table.loc[0, "b"] == 3.0 and np.isnan(table.loc[0, "a"])


def test_write_json_sorted(tmp_path):
    path = write_json({"b": 1, "a": 2}, tmp_path / "x.json")
    assert path.read_text().index('"a"') < path.read_text().index('"b"')


def test_row_writer_gives_the_bytes_of_the_dataframe_writer(tmp_path):
    """Per-subject feature rows take the fast writer; its bytes are pandas' (float format,
    n/a, infinities, signed zero, header fields that need quoting)."""
    rng = np.random.default_rng(0)
    columns = [f"roi {i}__roi{j}" for i in range(30) for j in range(i, 30)]
    columns[3] = 'odd"name\twith tab'
    values = rng.normal(size=len(columns)) * 10.0 ** rng.integers(-12, 12, len(columns))
    values[5:12] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1e20]
    frame = pd.DataFrame([values], columns=columns)
    frame.insert(0, "participant_id", "sub-01")
    write_tsv(frame, tmp_path / "pandas.tsv")
    write_row_tsv("sub-01", values, columns, tmp_path / "fast.tsv")
    assert (tmp_path / "fast.tsv").read_bytes() == (tmp_path / "pandas.tsv").read_bytes()
    write_tsv(pd.DataFrame({"participant_id": ["sub-02"]}), tmp_path / "pandas-empty.tsv")
    write_row_tsv("sub-02", [], [], tmp_path / "fast-empty.tsv")
    assert (tmp_path / "fast-empty.tsv").read_bytes() == (
        tmp_path / "pandas-empty.tsv"
    ).read_bytes()
