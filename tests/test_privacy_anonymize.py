"""The shareable copy of a study (psymodal.privacy): pseudonyms, metadata, defacing, PHI scan."""

from __future__ import annotations

import hashlib
import json

import nibabel as nib
import numpy as np
import pytest
import soundfile as sf

from psymodal.cli import main
from psymodal.privacy import anonymize_study, bin_age, pseudonym, read_key
from psymodal.privacy.deface import deface
from psymodal.privacy.metadata import filter_sidecar, scrub_nifti
from psymodal.privacy.phi import find_phi
from psymodal.privacy.pseudonyms import demo_key, write_key

KEY = demo_key(0)


# ---- pseudonyms and ages -------------------------------------------------------------------
def test_pseudonyms_are_keyed_deterministic_and_bids_labels():
    a = pseudonym("01", KEY)
    assert a == pseudonym("01", KEY) and a.isalnum() and len(a) == 12
    assert a != pseudonym("02", KEY)
    assert a != pseudonym("01", demo_key(1))
    assert a != hashlib.sha256(b"01").hexdigest()[:12]


@pytest.mark.parametrize(
    ("age", "label"),
    [
        (24.9, "20-24"),
        ("25", "25-29"),
        (89.99, "85-89"),
        (90, "90+"),
        (103, "90+"),
        ("n/a", "n/a"),
        (None, "n/a"),
        ("John", "n/a"),
        (float("nan"), "n/a"),
        (-1, "n/a"),
    ],
)
def test_ages_are_binned_and_top_coded(age, label):
    assert bin_age(age, 5, 90) == label


def test_keys_are_never_overwritten_and_short_keys_refused(tmp_path):
    path = write_key(tmp_path / "study.key")
    assert len(read_key(path)) == 32
    with pytest.raises(ValueError, match="never overwritten"):
        write_key(path)
    (tmp_path / "short.key").write_text("abcd\n")
    with pytest.raises(ValueError, match="hex digits"):
        read_key(tmp_path / "short.key")
    with pytest.raises(FileNotFoundError, match="pseudonym-key"):
        read_key(tmp_path / "missing.key")


# ---- metadata ------------------------------------------------------------------------------
def test_sidecars_keep_allowed_keys_with_numeric_values_only():
    sidecar = {
        "RepetitionTime": 2.0,
        "SliceTiming": [0, 0.5, 1.0],
        "EchoTime": "John Doe",
        "PhaseEncodingDirection": "j-",
        "SliceEncodingDirection": "Doe",
        "InstitutionName": "St Mary",
        "AcquisitionDateTime": "2024-01-01T10:00:00",
        "TaskName": "Jane's rest",
    }
    keys = [
        "RepetitionTime",
        "SliceTiming",
        "EchoTime",
        "PhaseEncodingDirection",
        "SliceEncodingDirection",
    ]
    assert filter_sidecar(sidecar, keys, task="rest") == {
        "RepetitionTime": 2.0,
        "SliceTiming": [0, 0.5, 1.0],
        "PhaseEncodingDirection": "j-",
        "TaskName": "rest",
    }


def test_nifti_text_fields_and_extensions_are_removed():
    img = nib.Nifti1Image(np.ones((2, 2, 2), np.int16), np.eye(4))
    for field in ("descrip", "db_name", "aux_file", "intent_name"):
        img.header[field] = b"DOE"
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"patient DOE"))
    clean = scrub_nifti(img)
    assert b"DOE" not in clean.header.binaryblock
    assert len(clean.header.extensions) == 0
    assert np.array_equal(np.asanyarray(clean.dataobj), np.ones((2, 2, 2)))


# ---- defacing ------------------------------------------------------------------------------
def _head(shape=(30, 36, 30), voxel=3.0):
    """An ellipsoid head (100) with a brain (200) high and back, and its face voxels: in front
    of and below the brain, inside the head (RAS axes: j anterior, k superior)."""
    affine = np.diag([voxel, voxel, voxel, 1.0])
    affine[:3, 3] = -voxel * np.array(shape) / 2
    i, j, k = np.indices(shape)
    c = np.array(shape) / 2
    head = ((i - c[0]) / 13) ** 2 + ((j - c[1]) / 16) ** 2 + ((k - c[2]) / 13) ** 2 <= 1
    brain = ((i - c[0]) / 9) ** 2 + ((j - c[1] + 2) / 11) ** 2 + ((k - c[2] - 4) / 8) ** 2 <= 1
    face = head & (j > c[1] + 8) & (k < c[2] - 4) & ~brain
    data = np.where(head, 100, 0).astype(np.int16)
    data[brain] = 200
    return (
        nib.Nifti1Image(data, affine),
        nib.Nifti1Image(brain.astype(np.uint8), affine),
        brain,
        face,
    )


@pytest.mark.parametrize("lps", [False, True])
def test_defacing_keeps_every_brain_voxel_and_zeroes_the_face(lps):
    img, mask, brain, face = _head()
    assert face.sum() > 100
    if lps:  # the same head stored with flipped x and y axes
        flip = np.diag([-1.0, -1.0, 1.0, 1.0])
        flip[:2, 3] = [img.shape[0] - 1, img.shape[1] - 1]
        affine = img.affine @ flip
        img = nib.Nifti1Image(np.asanyarray(img.dataobj)[::-1, ::-1], affine)
        mask = nib.Nifti1Image(np.asanyarray(mask.dataobj)[::-1, ::-1], affine)
        brain, face = brain[::-1, ::-1], face[::-1, ::-1]
    out = np.asanyarray(deface(img, mask, buffer=2).dataobj)
    assert out.dtype == np.int16
    assert np.array_equal(out[brain], np.asanyarray(img.dataobj)[brain])
    assert np.all(out[face] == 0)


def test_defacing_refuses_a_mask_on_another_grid():
    img, mask, _, _ = _head()
    with pytest.raises(ValueError, match="grid"):
        deface(img, nib.Nifti1Image(np.asanyarray(mask.dataobj), np.eye(4)))


# ---- the whole study: planted PHI reaches no output ----------------------------------------
PHI = [
    "JohnDoe",
    "Jane Roe",
    "1961-04-12",
    "MRN778812",
    "St Mary Hospital",
    "555-0199",
    "19610412",
    "Roe",
    "twelfth",
]
#: What the lab lists in anonymize.transcript_names.
NAMES = ["Jane Roe", "St Mary Hospital"]


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _nifti_with_phi(data, affine, path):
    img = nib.Nifti1Image(data, affine)
    img.header["descrip"] = b"JohnDoe 1961-04-12"
    img.header["db_name"] = b"MRN778812"
    img.header["aux_file"] = b"Jane Roe"
    img.header["intent_name"] = b"555-0199"
    img.header.extensions.append(
        nib.nifti1.Nifti1Extension(6, b"PatientName=JohnDoe Institution=St Mary Hospital")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)


def _sidecar_with_phi(path, extra):
    """Every allow-listed key and the usual identifying ones hold PHI."""
    from psymodal.settings import defaults

    sidecar = {key: "JohnDoe" for key in defaults("anonymize")["sidecar_keys"]}
    sidecar.update(
        {
            "AcquisitionDateTime": "1961-04-12T10:00:00",
            "InstitutionName": "St Mary Hospital",
            "DeviceSerialNumber": "MRN778812",
            "PatientName": "Jane Roe",
            "TaskName": "Jane Roe",
        }
    )
    sidecar.update(extra)
    path.write_text(json.dumps(sidecar))


@pytest.fixture(scope="module")
def phi_study(tmp_path_factory):
    """A tiny BIDS study (3 participants, one a name) with PHI planted in every field."""
    root = tmp_path_factory.mktemp("phi_study")
    bids, fmriprep = root / "bids", root / "bids" / "derivatives" / "fmriprep"
    bids.mkdir()
    (bids / "dataset_description.json").write_text(
        json.dumps({"Name": "Study of JohnDoe", "BIDSVersion": "1.10.0", "Authors": ["Jane Roe"]})
    )
    (bids / "README").write_text("Recruited at St Mary Hospital by Jane Roe, 555-0199\n")
    (bids / "CHANGES").write_text("1961-04-12 JohnDoe\n")
    (bids / "task-rest_bold.json").write_text(json.dumps({"InstitutionName": "St Mary Hospital"}))
    (bids / "participants.tsv").write_text(
        "participant_id\tage\tsex\tdiagnosis\tsite\tname\tdob\tmrn\tnotes\n"
        "sub-JohnDoe\t61\tM\tpatient\tA\tJohnDoe\t1961-04-12\tMRN778812\tcalls 555-0199\n"
        "sub-02\t34.5\tF\tcontrol\tB\tJane Roe\tn/a\tn/a\tSt Mary Hospital\n"
        "sub-03\tJane Roe\tF\tcontrol\tA\tn/a\tn/a\tn/a\tn/a\n"
    )
    (bids / "participants.json").write_text(json.dumps({"age": {"Description": "JohnDoe"}}))
    img, mask, _, _ = _head()
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 8000
    for label in ("JohnDoe", "02", "03"):
        sub = bids / f"sub-{label}"
        _nifti_with_phi(
            np.asanyarray(img.dataobj), img.affine, sub / "anat" / f"sub-{label}_T1w.nii.gz"
        )
        _sidecar_with_phi(sub / "anat" / f"sub-{label}_T1w.json", {})
        _nifti_with_phi(
            rng.normal(size=(4, 4, 3, 5)).astype(np.float32),
            np.eye(4),
            sub / "func" / f"sub-{label}_task-rest_bold.nii.gz",
        )
        _sidecar_with_phi(sub / "func" / f"sub-{label}_task-rest_bold.json", {})
        (sub / "func" / f"sub-{label}_task-rest_events.tsv").write_text(
            "onset\tduration\ttrial_type\n0\t1\tJane Roe\n"
        )
        (sub / f"sub-{label}_scans.tsv").write_text("filename\tacq_time\tx\t1961-04-12\n")
        (sub / "notes.txt").write_text("JohnDoe MRN778812\n")
        _nifti_with_phi(
            np.asanyarray(img.dataobj), img.affine, sub / "anat" / f"sub-{label}_T2w.nii.gz"
        )
        audio = sub / "audio" / f"sub-{label}_task-reading_audio.wav"
        audio.parent.mkdir()
        y = 0.3 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        with sf.SoundFile(audio, "w", 8000, 1, "PCM_16") as f:
            f.title, f.artist, f.comment = "JohnDoe", "Jane Roe", "MRN778812 1961-04-12"
            f.write(y + 0.01 * rng.normal(size=t.size))
        _sidecar_with_phi(audio.with_suffix(".json"), {"SamplingFrequency": 8000})
        transcript = sub / "audio" / f"sub-{label}_task-reading_transcript"
        if label == "03":
            transcript.with_suffix(".txt").write_text(
                "Jane Roe: Hello JohnDoe, when were you born?\n"
                "JohnDoe: On the twelfth of April 1961, 1961-04-12, at St Mary Hospital.\n"
            )
        else:
            transcript.with_suffix(".tsv").write_text(
                "onset\tduration\tword\tspeaker\tnotes\n"
                "0.0\t0.2\tcall\tJane Roe\tMRN778812\n"
                "0.2\t0.2\tJohnDoe\tJane Roe\tn/a\n"
                "0.4\t0.2\t555-0199\tinterviewer\tn/a\n"
                "0.6\t0.2\tborn\tJohnDoe\tn/a\n"
                "0.8\t0.2\t12\tJohnDoe\tn/a\n"
                "1.0\t0.2\tmarch\tJohnDoe\tn/a\n"
                "1.2\t0.2\t1961-04-12\tJohnDoe\tSt Mary Hospital\n"
            )
        if label != "03":  # sub-03 has no brain mask: its T1w must be withheld
            anat = fmriprep / f"sub-{label}" / "anat"
            anat.mkdir(parents=True)
            nib.save(mask, anat / f"sub-{label}_desc-brain_mask.nii.gz")
    # a second session of sub-02 labelled with its scan date
    session = bids / "sub-02" / "ses-19610412" / "func"
    _nifti_with_phi(
        rng.normal(size=(4, 4, 3, 5)).astype(np.float32),
        np.eye(4),
        session / "sub-02_ses-19610412_task-rest_bold.nii.gz",
    )
    _sidecar_with_phi(session / "sub-02_ses-19610412_task-rest_bold.json", {})
    return bids, fmriprep


@pytest.fixture(scope="module")
def shared_copy(phi_study, tmp_path_factory):
    bids, fmriprep = phi_study
    before = _files(bids)
    out = tmp_path_factory.mktemp("shared") / "shareable"
    mapping = out.parent / "mapping.tsv"
    summary = anonymize_study(
        bids,
        out,
        KEY,
        {"deface": {"buffer_voxels": 2}, "transcript_names": NAMES},
        fmriprep_dir=fmriprep,
        mapping_file=mapping,
    )
    assert _files(bids) == before, "the original study was changed"
    return out, summary, mapping


def test_planted_phi_is_found_in_the_input_and_nowhere_in_the_shared_copy(phi_study, shared_copy):
    bids, _ = phi_study
    out, summary, _ = shared_copy
    found_in_input = {text for _, text in find_phi(bids, PHI)}
    assert found_in_input == set(PHI), "the scanner must see every planted string"
    assert find_phi(out, PHI) == []
    assert not any(text.lower() in json.dumps(summary).lower() for text in PHI)


def test_the_shared_copy_is_a_pseudonymous_bids_dataset(shared_copy):
    out, summary, mapping = shared_copy
    ids = {label: "sub-" + pseudonym(label, KEY) for label in ("JohnDoe", "02", "03")}
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["BIDSVersion"] and description["DatasetType"] == "raw"
    table = (out / "participants.tsv").read_text().splitlines()
    assert table[0] == "participant_id\tdiagnosis\tage\tsex\tsite"
    rows = {line.split("\t")[0]: line.split("\t") for line in table[1:]}
    assert set(rows) == set(ids.values())
    assert rows[ids["JohnDoe"]][2] == "60-64" and rows[ids["02"]][2] == "30-34"
    assert rows[ids["03"]][2] == "n/a"
    assert sorted(p.name for p in out.glob("sub-*")) == sorted(ids.values())
    assert json.loads((out / "participants.json").read_text()).keys() == set(table[0].split("\t"))
    assert mapping.read_text().splitlines()[1:] == sorted(f"sub-{k}\t{v}" for k, v in ids.items())
    bold = out / ids["02"] / "func" / f"{ids['02']}_task-rest_bold.json"
    assert json.loads(bold.read_text()) == {"TaskName": "rest"}
    audio = json.loads(next(out.glob("sub-*/audio/*.json")).read_text())
    assert audio == {"SamplingFrequency": 8000, "TaskName": "reading"}
    assert summary["shared"] == {
        "anonymised recording": 3,
        "defaced T1w": 2,
        "func image": 4,
        "scrubbed transcript": 3,
        "sidecar": 11,
    }
    session = out / ids["02"] / "ses-01" / "func" / f"{ids['02']}_ses-01_task-rest_bold.nii.gz"
    assert session.is_file()
    assert not list(out.glob("**/*T2w*")) and not list(out.glob("**/*events*"))
    assert not (out / ids["03"] / "anat" / f"{ids['03']}_T1w.nii.gz").exists()
    assert any("T1w without an fMRIPrep brain mask" in line for line in summary["log"])


def test_shared_images_keep_their_data_and_recordings_are_not_copied(phi_study, shared_copy):
    bids, _ = phi_study
    out, _, _ = shared_copy
    sub = "sub-" + pseudonym("02", KEY)
    bold = nib.load(out / sub / "func" / f"{sub}_task-rest_bold.nii.gz")
    original = nib.load(bids / "sub-02" / "func" / "sub-02_task-rest_bold.nii.gz")
    assert np.array_equal(bold.get_fdata(), original.get_fdata())
    y, sr = sf.read(out / sub / "audio" / f"{sub}_task-reading_audio.wav")
    x, _ = sf.read(bids / "sub-02" / "audio" / "sub-02_task-reading_audio.wav")
    assert sr == 8000 and len(y) == len(x) and not np.allclose(y, x, atol=1e-3)


def test_the_copy_may_not_overlap_the_original_and_the_cli_writes_it(phi_study, tmp_path):
    bids, fmriprep = phi_study
    with pytest.raises(ValueError, match="overlap"):
        anonymize_study(bids, bids / "derivatives" / "shared", KEY)
    key = write_key(tmp_path / "study.key")
    out = tmp_path / "copy"
    args = ["anonymize", str(bids), str(out), "--key-file", str(key)]
    assert main(args + ["--fmriprep-dir", str(fmriprep)]) == 0
    assert len(list(out.glob("sub-*/anat/*_T1w.nii.gz"))) == 2
    assert main(["anonymize", str(bids), str(tmp_path / "x"), "--key-file", "nokey"]) == 2
    assert not (tmp_path / "x").exists()


def test_transcripts_keep_their_words_in_place_with_placeholders(shared_copy):
    out, _, _ = shared_copy
    sub = "sub-" + pseudonym("02", KEY)
    table = (out / sub / "audio" / f"{sub}_task-reading_transcript.tsv").read_text()
    assert table.splitlines() == [
        "onset\tduration\tword\tspeaker",
        "0.0\t0.2\tcall\tspeaker1",
        "0.2\t0.2\t[name]\tspeaker1",
        "0.4\t0.2\t[number]\tinterviewer",
        "0.6\t0.2\tborn\tspeaker2",
        "0.8\t0.2\t[number]\tspeaker2",
        "1.0\t0.2\t[date]\tspeaker2",
        "1.2\t0.2\t[number]\tspeaker2",
    ]
    sub = "sub-" + pseudonym("03", KEY)
    text = (out / sub / "audio" / f"{sub}_task-reading_transcript.txt").read_text()
    assert text.splitlines()[1] == (
        "[name]: On the [number] of [date] [number], [number], at [name] [name] [name]."
    )
