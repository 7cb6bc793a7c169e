"""The per-subject MRI QC gallery: order, embedded figures, limits, determinism."""

from __future__ import annotations

import base64

import pandas as pd
import pytest

from psymodal.io.tables import write_tsv
from psymodal.report.qc_gallery import qc_gallery, subject_figures


@pytest.fixture
def stage(tmp_path):
    """A stage folder with a QC table and one tiny PNG-named file per subject with a run."""
    qc = pd.DataFrame(
        {
            "participant_id": ["sub-01", "sub-02", "sub-03", "sub-04"],
            "included": [True, False, True, True],
            "reason": ["", "mean FD 0.9 mm > 0.5 mm", "", ""],
            "mean_fd": [0.10, 0.90, 0.30, float("nan")],
            "minutes_kept": [5.0, 1.0, 4.5, 0.0],
        }
    )
    write_tsv(qc, tmp_path / "group" / "mri_qc.tsv")
    for pid in ("sub-01", "sub-02", "sub-03"):
        fig = tmp_path / pid / "figures" / f"{pid}_task-rest_desc-qc_bold.png"
        fig.parent.mkdir(parents=True)
        fig.write_bytes(f"png of {pid}".encode())
    return tmp_path


def test_excluded_first_then_most_motion(stage, tmp_path):
    out = qc_gallery(stage / "group" / "mri_qc.tsv", stage, tmp_path / "gallery.html")
    page = out.read_text()
    sections = [page.index(f'<section id="{p}"') for p in ("sub-02", "sub-03", "sub-01", "sub-04")]
    assert sections == sorted(sections)
    assert "mean FD 0.9 mm &gt; 0.5 mm" in page and 'class="excluded"' in page
    assert base64.b64encode(b"png of sub-03").decode() in page
    assert "No QC figure" in page  # sub-04 has none
    assert "4 subjects; 1 excluded" in page


def test_embedding_limit_lists_paths(stage, tmp_path):
    out = qc_gallery(stage / "group" / "mri_qc.tsv", stage, tmp_path / "g.html", max_embedded=1)
    page = out.read_text()
    assert base64.b64encode(b"png of sub-02").decode() in page
    assert base64.b64encode(b"png of sub-01").decode() not in page
    assert "sub-01/figures/sub-01_task-rest_desc-qc_bold.png" in page


def test_same_inputs_same_bytes(stage, tmp_path):
    a = qc_gallery(stage / "group" / "mri_qc.tsv", stage, tmp_path / "a.html").read_bytes()
    b = qc_gallery(stage / "group" / "mri_qc.tsv", stage, tmp_path / "b.html").read_bytes()
    assert a == b


def test_subject_figures_accepts_bare_ids(stage):
    assert subject_figures(stage, "01") == subject_figures(stage, "sub-01")
    assert len(subject_figures(stage, "01")) == 1


def test_wrong_table_is_a_clear_error(tmp_path):
    write_tsv(pd.DataFrame({"participant_id": ["sub-01"]}), tmp_path / "features.tsv")
    with pytest.raises(ValueError, match="lacks the columns"):
        qc_gallery(tmp_path / "features.tsv", tmp_path, tmp_path / "g.html")


def test_speech_gallery_lists_lowest_snr_first(tmp_path):
    qc = pd.DataFrame(
        {
            "participant_id": ["sub-01", "sub-02", "sub-03"],
            "included": [True, True, False],
            "reason": ["", "", "no recordings found"],
            "snr_db": [30.0, 12.0, float("nan")],
            "speech_duration_s": [20.0, 18.0, float("nan")],
        }
    )
    write_tsv(qc, tmp_path / "group" / "speech_qc.tsv")
    fig = tmp_path / "sub-02" / "figures" / "sub-02_task-reading_desc-qc_audio.png"
    fig.parent.mkdir(parents=True)
    fig.write_bytes(b"speech png")
    page = qc_gallery(
        tmp_path / "group" / "speech_qc.tsv", tmp_path, tmp_path / "s.html", modality="speech"
    ).read_text()
    order = [page.index(f'<section id="{p}"') for p in ("sub-03", "sub-02", "sub-01")]
    assert order == sorted(order)
    assert "SNR (dB)" in page and base64.b64encode(b"speech png").decode() in page
    with pytest.raises(ValueError, match="no QC gallery"):
        qc_gallery(tmp_path / "group" / "speech_qc.tsv", tmp_path, tmp_path / "x.html", "eeg")
