"""Region means and cleaning without nilearn's masker: the same bits as the masker."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from _helpers import FAST, make_run, toy_atlas
from psymodal.mri import timeseries
from psymodal.mri.layout import find_runs
from psymodal.mri.region_signals import label_voxels, region_means
from psymodal.mri.timeseries import extract_run_timeseries


def _ndimage_means(data, labels, ids):
    """What nilearn's ``img_to_signals_labels`` computes: ndimage.mean volume by volume."""
    dtype = np.float32 if data.dtype == np.float32 else np.float64
    out = np.empty((data.shape[3], len(ids)), dtype=dtype, order="F")
    for n, volume in enumerate(np.rollaxis(data, -1)):
        out[n] = np.asarray(ndimage.mean(volume, labels=labels, index=ids))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("order", ["F", "C"])
def test_region_means_are_ndimage_means_bit_for_bit(dtype, order):
    rng = np.random.default_rng(1)
    shape = (9, 8, 7, 70)  # 70 volumes: more than one gathered block
    # magnitudes spread over six decades, so that a different summation order shows
    values = rng.normal(0, 1, shape) * 10.0 ** rng.integers(-3, 4, shape)
    if dtype is np.int16:
        values = np.clip(values, -3e4, 3e4)
    data = np.asarray(values.astype(dtype), order=order)
    labels = rng.choice([0, 2, 5, 9, 40], size=shape[:3]).astype(np.int32)
    mask = rng.random(shape[:3]) > 0.3
    voxels = label_voxels(labels, mask)
    masked = np.where(mask, labels, 0)
    ids = [int(i) for i in np.unique(masked) if i]
    assert voxels.ids.tolist() == ids
    ours = region_means(data, voxels)
    ref = _ndimage_means(data, masked, ids)
    assert ours.dtype == ref.dtype and ours.flags.f_contiguous
    np.testing.assert_array_equal(ours, ref)


def test_label_voxels_groups_by_label_in_c_order():
    labels = np.zeros((3, 3, 2), dtype=np.int16, order="F")
    labels[0, 0, 1] = labels[2, 1, 0] = 7
    labels[1, 2, 1] = 3
    voxels = label_voxels(labels)
    assert voxels.ids.tolist() == [3, 7]
    assert voxels.counts.tolist() == [1, 2]
    assert voxels.starts.tolist() == [0, 1]
    assert [tuple(int(c[n]) for c in voxels.coords) for n in range(3)] == [
        (1, 2, 1),
        (0, 0, 1),
        (2, 1, 0),
    ]
    empty = label_voxels(np.zeros((2, 2, 2)))
    assert region_means(np.ones((2, 2, 2, 4), np.float32), empty).shape == (4, 0)


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"mask_out": (2,), "strategy": "scrubbing", "spikes": (30, 31, 60)},
        {"dtype": np.int16, "no_mask": True},
    ],
    ids=["simple", "scrubbing-missing-region", "int16-no-mask"],
)
def test_run_time_series_equal_the_labels_masker(tmp_path, monkeypatch, case):
    case = dict(case)
    strategy = case.pop("strategy", "simple")
    no_mask = case.pop("no_mask", False)
    paths = make_run(tmp_path, **case)
    (run,) = find_runs(tmp_path, paths["fmriprep"], "01")
    if no_mask:
        run = dataclasses.replace(run, mask=None)
    settings = {**FAST, "confounds": {"strategy": strategy}}
    atlas = toy_atlas()
    ours, qc = extract_run_timeseries(run, atlas, settings)
    monkeypatch.setattr(timeseries, "_parcellate", timeseries._parcellate_with_masker)
    masker, qc_masker = extract_run_timeseries(run, atlas, settings)
    assert ours.columns.tolist() == masker.columns.tolist()
    assert ours.index.tolist() == masker.index.tolist()
    np.testing.assert_array_equal(ours.to_numpy(), masker.to_numpy())
    assert qc["missing_regions"] == qc_masker["missing_regions"]
    if case.get("mask_out"):
        assert qc["missing_regions"] == ["RegC"]


def test_unnamed_atlas_label_is_an_error(tmp_path):
    paths = make_run(tmp_path)
    (run,) = find_runs(tmp_path, paths["fmriprep"], "01")
    atlas = toy_atlas()
    atlas = dataclasses.replace(atlas, labels=atlas.labels.iloc[1:])  # label 3 unnamed
    with pytest.raises(RuntimeError, match=r"labels \[3\] that its table does not name"):
        extract_run_timeseries(run, atlas, FAST)
