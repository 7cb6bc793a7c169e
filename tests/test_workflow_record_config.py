"""The record-config job writes what StudyPlan.write_run_config writes, without planning."""

from __future__ import annotations

from _helpers import modules_imported_by, scenario_config
from psymodal.workflow.plan import StudyPlan, run_label_of, write_run_config


def test_same_file_and_bytes_as_the_plan(tmp_path):
    for label in (None, "mine"):
        config = scenario_config("small-demo")
        config["results_dir"] = str(tmp_path / "results")
        config["run_label"] = label
        plan = StudyPlan(dict(config))
        path = plan.write_run_config()
        expected = path.read_bytes()
        path.unlink()
        assert write_run_config(config) == path
        assert path.read_bytes() == expected
        assert run_label_of(plan.config) == plan.run_label


def test_recording_the_config_does_not_import_pandas():
    statement = "from psymodal.workflow.plan import write_run_config"
    assert modules_imported_by(statement, ("pandas",)) == []
