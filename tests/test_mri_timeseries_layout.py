"""Ready time series in the layouts they are published in: C-PAC/PCP per-subject folders with
the ABIDE phenotype file, XCP-D/fMRIPrep-style ``*_timeseries.tsv``, with no symlinks or
hand-written tables (issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from psymodal.io.tables import read_tsv
from psymodal.mri.phenotype import read_abide_phenotype
from psymodal.mri.ready_timeseries import read_timeseries
from psymodal.mri.sources import MriSource, process_mri_subject
from psymodal.mri.timeseries_layout import find_timeseries_files, subject_fields
from psymodal.workflow.participants import import_participants
from psymodal.workflow.plan import StudyPlan

CPAC_PATTERN = "{SUB_ID}/{FILE_ID}_rois_{atlas}.1D"
SHARED = Path("/work/shared/data/abide100")


def write_cpac_study(root: Path, sep: str = ",", bom: bool = False) -> Path:
    """A small copy of the PCP layout: ``Phenotypic_V1_0b_preprocessed1.csv`` (with its unnamed
    index columns, ``no_filename`` rows, -9999 for missing, DX_GROUP 1 = autism, 2 = control)
    and ``<SUB_ID>/<FILE_ID>_rois_<atlas>.1D`` files for two atlases."""
    rng = np.random.default_rng(0)
    header = ["", "Unnamed: 0", "SUB_ID", "SITE_ID", "FILE_ID", "DX_GROUP", "AGE_AT_SCAN"]
    header += ["SEX", "func_mean_fd"]
    lines = [sep.join(header)]
    for k, sub in enumerate(range(50002, 50010)):
        file_id = "no_filename" if sub == 50002 else f"Pitt_00{sub}"
        age = "-9999" if sub == 50004 else f"{20 + k}.5"
        row = [str(k), str(k + 1), str(sub), "PITT", file_id, str(1 + k % 2), age]
        lines.append(sep.join(row + [str(1 + (k % 3 == 0)), f"0.{k + 1}"]))
        if file_id == "no_filename" or sub == 50009:  # 50009: in the table, not downloaded
            continue
        for atlas, n_regions in (("ho", 5), ("aal", 7)):
            values = rng.standard_normal((60, n_regions))
            header_line = "\t".join(f"#{i}" for i in range(1, n_regions + 1))
            body = "\n".join("\t".join(f"{v:.5f}" for v in row) for row in values)
            path = root / "Outputs" / str(sub) / f"{file_id}_rois_{atlas}.1D"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(header_line + "\n" + body + "\n")
    text = "\n".join(lines) + "\n"
    phenotype = root / "Phenotypic_V1_0b_preprocessed1.csv"
    phenotype.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return root


def cpac_config(root: Path) -> dict:
    return {
        "dataset": {
            "source": "timeseries",
            "bids_dir": str(root),
            "participants": str(root / "Phenotypic_V1_0b_preprocessed1.csv"),
            "participants_format": "abide",
            "timeseries_dir": str(root / "Outputs"),
            "timeseries_pattern": CPAC_PATTERN,
        },
        "results_dir": str(root / "results"),
        "mri": {"timeseries": {"format": "1D", "atlas_name": "ho"}},
        "speech": {"enabled": False},
    }


def test_cpac_layout_with_abide_phenotypes_is_planned_and_read(tmp_path):
    root = write_cpac_study(tmp_path)
    plan = StudyPlan(cpac_config(root))
    # no file: 50002 (no_filename) and 50009 (not downloaded)
    assert plan.subjects == [f"sub-{s}" for s in range(50003, 50009)]
    inputs = plan.subject_inputs(["sub-50003"], "mri")
    assert root / "Outputs" / "50003" / "Pitt_0050003_rois_ho.1D" in inputs
    assert not any("_aal" in p.name for p in inputs)

    # the imported table keeps the pattern's columns; the MRI job finds the files from it
    tsv = import_participants(plan.config["dataset"], tmp_path / "participants.tsv", "ho")
    table = read_tsv(tsv, dtype={"participant_id": str})
    assert list(table.columns) == [*plan.participant_columns]
    assert "FILE_ID" in table and table["age"].isna().sum() == 1  # -9999 is missing
    assert set(table["diagnosis"]) == {"patient", "control"}
    source = MriSource(
        "timeseries",
        timeseries_dir=root / "Outputs",
        timeseries_pattern=CPAC_PATTERN,
        participants=tsv,
    )
    settings = {"timeseries": {"format": "1D", "atlas_name": "ho"}, "connectivity": "correlation"}
    out = process_mri_subject("sub-50005", source, None, tmp_path / "mri", settings)
    qc = read_tsv(out["mri"]["qc"])
    assert bool(qc["included"].iloc[0]), qc["reason"].iloc[0]
    assert read_tsv(out["mri"]["features"]).shape == (1, 1 + 5 * 4 // 2)


def test_abide_phenotype_read_whatever_its_delimiter_or_byte_order_mark(tmp_path):
    name = "Phenotypic_V1_0b_preprocessed1.csv"
    comma = read_abide_phenotype(write_cpac_study(tmp_path / "a") / name)
    tab = write_cpac_study(tmp_path / "b", sep="\t", bom=True)
    assert read_abide_phenotype(tab / name) == comma
    columns, rows = comma
    assert rows[0] == {
        "participant_id": "sub-50002",
        "diagnosis": "patient",
        "age": "20.5",
        "sex": "F",
        "site": "PITT",
        "mean_fd": "0.1",
    }


def test_no_matched_subject_is_an_error_that_says_what_was_searched(tmp_path):
    root = write_cpac_study(tmp_path)
    config = cpac_config(root)
    config["dataset"]["timeseries_pattern"] = "{SUB_ID}/{FILE_ID}_rois_{atlas}.mat"
    with pytest.raises(ValueError, match=r"no time series found.*Outputs/50003/Pitt_0050003"):
        StudyPlan(config)
    config["dataset"]["timeseries_pattern"] = "{SUBJECT}/{FILE_ID}.1D"
    with pytest.raises(ValueError, match=r"\{SUBJECT\} is neither.*FILE_ID"):
        StudyPlan(config)
    config["dataset"]["timeseries_pattern"] = CPAC_PATTERN
    config["mri"]["timeseries"]["atlas_name"] = None
    with pytest.raises(ValueError, match="mri.timeseries.atlas_name"):
        StudyPlan(config)


def test_xcpd_layout_globs_every_run_and_the_job_names_what_it_looked_for(tmp_path):
    root = tmp_path / "xcp_d"
    for sub, runs in (("sub-01", (1, 2)), ("sub-02", (1,))):
        for run in runs:
            name = f"{sub}_task-rest_run-{run}_space-MNI_seg-4S156Parcels_stat-mean_timeseries.tsv"
            path = root / sub / "func" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("A\tB\tC\n" + "\n".join("1\t2\t3" for _ in range(5)) + "\n")
    pattern = "{participant_id}/**/{participant_id}_task-rest_*_timeseries.tsv"
    found = find_timeseries_files(root, pattern, subject_fields("sub-01"))
    assert [p.name.split("_")[2] for p in found] == ["run-1", "run-2"]
    assert len(find_timeseries_files(root, pattern, subject_fields("sub-02"))) == 1
    # values are matched literally: a value cannot leave the folder or act as a glob
    assert find_timeseries_files(root, "{x}/func/*.tsv", {"x": ".."}) == []
    assert find_timeseries_files(root, "{x}/func/*.tsv", {"x": "sub-0*"}) == []
    source = MriSource("timeseries", timeseries_dir=root, timeseries_pattern=pattern)
    with pytest.raises(Exception, match=r"looked for .*xcp_d/sub-03/\*\*/sub-03_task-rest"):
        source.timeseries_files("sub-03")


def test_format_1D_is_accepted_as_written_in_the_schema(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1 2 3\n4 5 7\n2 2 1\n")
    assert read_timeseries(path, "1D").shape == (3, 3)
    assert read_timeseries(path, "1d").shape == (3, 3)


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared ABIDE data absent")
def test_abide100_config_plans_its_hundred_subjects():
    import yaml

    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config" / "abide100.yaml").read_text())
    for key in ("bids_dir", "participants", "timeseries_dir"):
        config["dataset"][key] = str(
            SHARED / Path(config["dataset"][key]).relative_to("../shared/data/abide100")
        )
    assert len(StudyPlan(config).subjects) == 100
