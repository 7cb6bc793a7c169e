"""Ready-made parcellated time series (1D, TSV, CSV, MAT, NPY) and the ABIDE reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from psymodal.io.tables import read_tsv
from psymodal.mri.connectome import edge_names
from psymodal.mri.errors import MRIInputError
from psymodal.mri.ready_timeseries import (
    AAL116,
    process_timeseries_subject,
    read_abide_participants,
    read_timeseries,
)

ABIDE = Path("/work/shared/data/abide100")


def _values(t=120, p=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t, p))
    x[:, 1] += x[:, 0]
    return x


def test_formats_round_trip(tmp_path):
    x = _values()
    names = ["Ra", "Rb", "Rc", "Rd"]
    (tmp_path / "a.1D").write_text(
        "#" + "\t#".join(names) + "\n" + "\n".join("\t".join(f"{v:.8f}" for v in r) for r in x)
    )
    pd.DataFrame(x, columns=names).to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    np.savetxt(tmp_path / "a.csv", x, delimiter=",")
    savemat(tmp_path / "a.mat", {"ROISignals": x})
    np.save(tmp_path / "a.npy", x)
    got = {
        ext: read_timeseries(tmp_path / f"a.{ext}") for ext in ("1D", "tsv", "csv", "mat", "npy")
    }
    for table in got.values():
        np.testing.assert_allclose(table.to_numpy(), x, atol=1e-7)
    assert list(got["1D"].columns) == names and list(got["tsv"].columns) == names
    assert list(got["npy"].columns) == ["region001", "region002", "region003", "region004"]
    with pytest.raises(MRIInputError, match="4 columns but 116 region names"):
        read_timeseries(tmp_path / "a.mat", region_names="aal116")
    with pytest.raises(MRIInputError, match="no variable 'Signals'"):
        read_timeseries(tmp_path / "a.mat", variable="Signals")


def test_process_timeseries_subject(tmp_path):
    x = _values()
    x[:, 3] = 0.0  # region outside the field of view, as DPABI writes it
    savemat(tmp_path / "s.mat", {"ROISignals": x})
    settings = {
        "timeseries": {"tr": 2.0},
        "qc": {"max_missing_fraction": 0.5},
        "connectivity": "correlation",
    }
    out = process_timeseries_subject("sub-07", tmp_path / "s.mat", tmp_path / "out", settings)
    assert out["features"].name == "sub-07_task-rest_atlas-custom_desc-correlation_features.tsv"
    feats = read_tsv(out["features"])
    names = [f"region{k:03d}" for k in range(1, 5)]
    assert list(feats.columns) == ["participant_id"] + edge_names(names)
    assert feats["region001__region002"].iloc[0] > 0.5
    assert np.isnan(feats["region001__region004"].iloc[0])
    qc = read_tsv(out["qc"])
    assert bool(qc["included"].iloc[0]) and qc["missing_regions"].iloc[0] == "region004"
    assert qc["minutes_kept"].iloc[0] == pytest.approx(4.0)
    # FD from a phenotypic table excludes
    out = process_timeseries_subject(
        "08", tmp_path / "s.mat", tmp_path / "out", settings, qc_values={"mean_fd": 0.9}
    )
    qc = read_tsv(out["qc"])
    assert not bool(qc["included"].iloc[0]) and "mean FD" in qc["reason"].iloc[0]


def test_aal_names():
    assert len(AAL116) == 116 == len(set(AAL116))
    assert AAL116[46] == "Lingual_L" and AAL116[-1] == "Vermis_10"


@pytest.mark.shared
@pytest.mark.skipif(not ABIDE.is_dir(), reason="../shared ABIDE data absent")
def test_abide_reader_and_one_subject(tmp_path):
    table = read_abide_participants(ABIDE / "phenotypic.csv", ABIDE / "Functional")
    assert len(table) == 100
    assert list(table.columns) == ["participant_id", "diagnosis", "age", "sex", "site", "mean_fd"]
    assert set(table["diagnosis"]) == {"patient", "control"}
    assert set(table["sex"]) <= {"M", "F"}
    counts = table.groupby(["site", "diagnosis"]).size().to_dict()
    assert counts[("PITT", "patient")] == 29 and counts[("OHSU", "patient")] == 10
    from psymodal.mri.ready_timeseries import abide_settings

    sub = table["participant_id"].iloc[0][4:]
    settings = abide_settings({"timeseries": {"tr": 1.5}, "connectivity": "correlation"})
    out = process_timeseries_subject(sub, ABIDE / "Functional" / f"{sub}.mat", tmp_path, settings)
    feats = read_tsv(out["features"])
    assert feats.shape == (1, 1 + 116 * 115 // 2)
    assert "Precentral_L__Precentral_R" in feats.columns


def test_filtered_cleaning_equals_nilearns_column_by_column_filter():
    """Re-cleaning with a band-pass filters all regions in one 2-D filtfilt; nilearn's default
    filters column by column. On float64 time series the two are bit-identical."""
    from nilearn.signal import clean

    from psymodal.mri.ready_timeseries import clean_timeseries
    from psymodal.settings import defaults

    settings = {**defaults("mri.timeseries"), "tr": 2.0, "high_pass": 0.01, "low_pass": 0.1}
    values = _values(t=150, p=12)
    frame = pd.DataFrame(values, columns=[f"r{i}" for i in range(12)])
    cleaned, missing = clean_timeseries(frame, settings)
    expected = clean(
        values.copy(),
        detrend=False,
        standardize="zscore_sample",
        t_r=2.0,
        high_pass=0.01,
        low_pass=0.1,
    )
    assert missing == []
    assert np.array_equal(cleaned.to_numpy(), expected)
