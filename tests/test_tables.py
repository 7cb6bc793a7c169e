import numpy as np
import pandas as pd
import pytest

from psymodal.io.tables import atomic_path, concat_rows, read_tsv, write_json, write_tsv


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
