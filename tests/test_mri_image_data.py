"""Reading a .nii.gz straight into its array gives what nibabel gives."""

from __future__ import annotations

import gzip
import zlib

import nibabel as nib
import numpy as np
import pytest

from psymodal.mri import image_data as image_data_module
from psymodal.mri.errors import MRIInputError
from psymodal.mri.image_data import image_data
from psymodal.mri.timeseries import read_data

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _save(tmp_path, data, name="bold.nii.gz", **header):
    img = nib.Nifti1Image(data, AFFINE)
    for key, value in header.items():
        img.header[key] = value
    path = tmp_path / name
    nib.save(img, path)
    return path


def _same(ours, theirs):
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert ours.flags.f_contiguous == theirs.flags.f_contiguous
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["bold.nii.gz", "bold.nii"])
def test_float32_run_is_read_as_nibabel_reads_it(tmp_path, monkeypatch, name):
    # small steps, so that header, data and trailer are split across many of them
    monkeypatch.setattr(image_data_module, "_READ_BYTES", 997)
    monkeypatch.setattr(image_data_module, "_OUT_BYTES", 1009)
    data = np.random.default_rng(0).normal(1000, 10, (5, 6, 7, 9)).astype(np.float32)
    img = nib.load(_save(tmp_path, data, name))
    ours = image_data(img)
    _same(ours, np.asanyarray(img.dataobj))
    assert ours.dtype == np.float32


def test_scaled_int16_and_big_endian_data(tmp_path):
    data = np.arange(5 * 4 * 3 * 2, dtype=np.int16).reshape(5, 4, 3, 2)
    img = nib.load(_save(tmp_path, data, scl_slope=0.5, scl_inter=10.0))
    _same(image_data(img), np.asanyarray(img.dataobj))
    big = nib.Nifti1Image(data.astype(">f4"), AFFINE)
    nib.save(big, tmp_path / "big.nii.gz")
    img = nib.load(tmp_path / "big.nii.gz")
    _same(image_data(img), np.asanyarray(img.dataobj))
    in_memory = nib.Nifti1Image(data, AFFINE)
    assert image_data(in_memory) is in_memory.dataobj


def test_concatenated_gzip_members_and_zero_padding(tmp_path):
    data = np.random.default_rng(1).normal(size=(4, 4, 4, 5)).astype(np.float32)
    path = _save(tmp_path, data)
    raw = gzip.decompress(path.read_bytes())
    half = len(raw) // 2
    path.write_bytes(gzip.compress(raw[:half]) + gzip.compress(raw[half:]) + b"\0" * 8)
    img = nib.load(path)
    _same(image_data(img), np.asanyarray(img.dataobj))


def test_truncated_and_corrupt_files_fail_loudly(tmp_path):
    data = np.random.default_rng(2).normal(size=(6, 6, 6, 8)).astype(np.float32)
    path = _save(tmp_path, data)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(EOFError):
        image_data(nib.load(path))
    with pytest.raises(MRIInputError, match="truncated or corrupt"):
        read_data(nib.load(path), path, "BOLD image", "01")
    bad_crc = bytearray(good)
    bad_crc[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    path.write_bytes(bytes(bad_crc))
    with pytest.raises(zlib.error):
        image_data(nib.load(path))
