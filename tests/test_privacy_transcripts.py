"""The shareable copy carries no free text: transcripts scrubbed, path parts checked."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from psymodal.privacy import anonymize_study
from psymodal.privacy.phi import find_phi
from psymodal.privacy.pseudonyms import demo_key
from psymodal.privacy.transcripts import scrub_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("born 12/04/61 in May 1961", "born [number] in [date] [number]"),
        ("I may go in March", "I may go in March"),
        ("sixty-one years, the third of june", "[number] years, the [number] of [date]"),
        ("Dr. ROE called, MRN778812", "Dr. [name] called, [number]"),
        (
            "call 555-0199 or +44 20 7946 0958",
            "call [number] or +[number] [number] [number] [number]",
        ),
        ("o'Roe's dog", "[name] dog"),
    ],
)
def test_numbers_dates_and_listed_names_become_placeholders(text, expected):
    assert scrub_text(text, ["Jane Roe"])[0] == expected


def test_replacements_are_counted_by_kind():
    _, counts = scrub_text("Jane saw 3 dogs on 4 July", ["Jane"])
    assert counts == {"name": 1, "number": 2, "date": 1}


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2, 2), np.float32), np.eye(4)), path)


def test_free_text_in_folders_labels_and_suffixes_never_reaches_a_path(tmp_path):
    bids = tmp_path / "bids"
    (bids / "sub-01").mkdir(parents=True)
    (bids / "dataset_description.json").write_text(json.dumps({"Name": "x"}))
    func = bids / "sub-01" / "func"
    _image(func / "sub-01_task-rest_bold.nii.gz")  # shared
    _image(func / "sub-01_task-rest20240105_bold.nii.gz")  # a date in a label
    _image(func / "sub-01_task-smith_bold.nii.gz")  # a listed name in a label
    _image(func / "sub-01_task-marysmith_bold.nii.gz")  # ... or inside one
    _image(func / "sub-01_task-rest_JohnSmith.nii.gz")  # free text as a suffix
    _image(bids / "sub-01" / "Smithfolder" / "sub-01_task-rest_bold.nii.gz")  # not a datatype
    for date in ("20240105", "20230101"):  # sessions labelled by scan date
        _image(
            bids / "sub-01" / f"ses-{date}" / "func" / f"sub-01_ses-{date}_task-rest_bold.nii.gz"
        )
    _image(bids / "sub-01" / "ses-20240105" / "func" / "sub-01_ses-20230101_task-rest_bold.nii.gz")
    out = tmp_path / "copy"
    summary = anonymize_study(bids, out, demo_key(0), {"transcript_names": ["Smith", "St Al"]})
    assert find_phi(out, ["2024", "2023", "Smith"]) == []
    assert "smith" not in json.dumps(summary).lower()
    shared = sorted(p.relative_to(out).as_posix() for p in out.glob("sub-*/**/*.nii.gz"))
    sub = shared[0].split("/")[0]
    assert shared == [
        f"{sub}/func/{sub}_task-rest_bold.nii.gz",
        f"{sub}/ses-01/func/{sub}_ses-01_task-rest_bold.nii.gz",  # 20230101 comes first
        f"{sub}/ses-02/func/{sub}_ses-02_task-rest_bold.nii.gz",
    ]
    assert summary["withheld"] == {
        "file of another participant or session": 1,
        "folder is not a BIDS datatype": 1,
        "name is not BIDS entities with shareable labels": 4,
    }
