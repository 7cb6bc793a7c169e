"""Atlas loading: offline default, local files, nilearn fetchers (cached / offline error)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from psymodal.mri import atlas as atlas_mod
from psymodal.mri.atlas import AtlasUnavailableError, load_atlas


def test_default_atlas_is_complete_and_deterministic():
    a = load_atlas()
    b = load_atlas({"name": "dosenbach160", "radius_mm": 6})
    assert a.name == "dosenbach160" and len(a.region_names) == 160
    assert len(set(a.region_names)) == 160 and not any("__" in n for n in a.region_names)
    values = set(np.unique(np.asarray(a.labels_img.dataobj)).tolist()) - {0}
    assert values == set(a.labels["index"])
    np.testing.assert_array_equal(
        np.asarray(a.labels_img.dataobj), np.asarray(b.labels_img.dataobj)
    )


def test_fetched_atlas_from_cache(monkeypatch):
    data = np.zeros((4, 4, 4), np.int16)
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2] = 1, 2, 4
    lut = pd.DataFrame(
        {
            "index": [0, 1, 2, 3, 4],
            "name": ["Background", "7Networks_LH_Vis_1", "B  c", "gone", "B c"],
        }
    )

    def fake(kind, spec, data_dir):
        assert data_dir == "/cache"
        return Bunch(
            maps=nib.Nifti1Image(data, np.eye(4)), lut=lut, labels=list(lut["name"])
        ), "schaefer100x7"

    monkeypatch.setattr(atlas_mod, "_fetch", fake)
    a = load_atlas({"name": "schaefer", "data_dir": "/cache"})
    assert a.name == "schaefer100x7"
    assert list(a.labels["index"]) == [1, 2, 4]  # label 3 is not in the image
    assert a.region_names == ["7Networks_LH_Vis_1", "B_c", "B_c_2"]


def test_fetched_atlas_offline_error(monkeypatch):
    def offline(kind, spec, data_dir):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(atlas_mod, "_fetch", offline)
    with pytest.raises(AtlasUnavailableError, match="dosenbach160"):
        load_atlas({"name": "aal"})


def test_unknown_atlas():
    with pytest.raises(ValueError, match="Unknown atlas"):
        load_atlas({"name": "nope"})
