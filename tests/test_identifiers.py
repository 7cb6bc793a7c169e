"""Participant identifiers are checked when the study is planned, before any job runs."""

import pandas as pd
import pytest

from psymodal.workflow.participants import check_labels, check_participant_ids, is_bids_label
from psymodal.workflow.plan import StudyPlan

HOSTILE = [
    "sub-13$(touch${IFS}/tmp/PWNED)",
    "sub-../../../../x",
    "sub-13 x",
    "sub-13;rm",
    "sub-1_2",
    "sub-1-2",
    "sub-",
    "sub-é1",
]


@pytest.mark.parametrize("participant", HOSTILE)
def test_hostile_participant_ids_stop_the_plan_naming_the_line(tmp_path, participant):
    table = f"participant_id\tdiagnosis\nsub-01\tcontrol\n{participant}\tpatient\n"
    (tmp_path / "participants.tsv").write_text(table)
    config = {"dataset": {"source": "bids", "bids_dir": str(tmp_path)}}
    with pytest.raises(ValueError, match=r"participants\.tsv, line 3: participant_id") as error:
        StudyPlan(config)
    assert "BIDS label" in str(error.value) or "sub-<label>" in str(error.value)


def test_bids_labels():
    assert is_bids_label("01") and is_bids_label("ABC12")
    assert not any(is_bids_label(v) for v in ("", "a b", "a-b", "a_b", "../x", "a$b", "é"))


def test_valid_ids_pass():
    check_participant_ids(pd.DataFrame({"participant_id": ["sub-01", "sub-A2"]}), "t.tsv")


LEARN = {"label_column": "diagnosis", "positive_label": "patient", "negative_label": None}


def test_a_third_label_value_is_refused_unless_controls_are_named():
    table = pd.DataFrame({"diagnosis": ["patient", "control", "bipolar", "control"]})
    with pytest.raises(ValueError, match=r"3 values .*'bipolar' \(1\).*learn\.negative_label"):
        check_labels(table, "t.tsv", LEARN)
    check_labels(table, "t.tsv", {**LEARN, "negative_label": "control"})


def test_one_class_is_refused():
    table = pd.DataFrame({"diagnosis": ["control", "control", None]})
    with pytest.raises(ValueError, match="one class only"):
        check_labels(table, "t.tsv", LEARN)
    with pytest.raises(ValueError, match="one class only"):
        check_labels(
            pd.DataFrame({"diagnosis": ["patient", "bipolar"]}),
            "t.tsv",
            {**LEARN, "negative_label": "control"},
        )
    with pytest.raises(ValueError, match="no 'diagnosis' column"):
        check_labels(pd.DataFrame({"dx": ["patient"]}), "t.tsv", LEARN)


def test_the_plan_checks_labels_before_any_job(tmp_path):
    table = "participant_id\tdiagnosis\nsub-01\tpatient\nsub-02\tcontrol\nsub-03\tbipolar\n"
    (tmp_path / "participants.tsv").write_text(table)
    config = {"dataset": {"source": "bids", "bids_dir": str(tmp_path)}}
    with pytest.raises(ValueError, match=r"'bipolar' \(1\)"):
        StudyPlan(config)
    config["learn"] = {"negative_label": "control"}
    assert StudyPlan(config).subjects == ["sub-01", "sub-02", "sub-03"]
    (tmp_path / "participants.tsv").write_text(table.replace("patient", "control"))
    with pytest.raises(ValueError, match="one class only"):
        StudyPlan(config)
