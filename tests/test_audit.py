"""``psymodal audit``: a results folder against its provenance manifest."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _helpers import run_dir
from psymodal.cli import main
from psymodal.provenance import audit as audit_module
from psymodal.provenance import manifest as prov
from psymodal.provenance import sampling
from psymodal.provenance.audit import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    audit,
    check_environment,
    infer_workdir,
    prepare_rerun_config,
)

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"results_dir": "results", "dataset": {"source": "bids", "bids_dir": "data"}}


@pytest.fixture
def audited(tmp_path, monkeypatch):
    """A small results folder with its manifest; the working directory is its parent."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "participants.tsv").write_text("participant_id\nsub-01\n")
    results = tmp_path / "results"
    for name in ("learn/metrics.tsv", "group/mri_qc.tsv", "sub-01/func/sub-01_features.tsv"):
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text(f"{name}\n1\t2\n")
    (results / "logs").mkdir()
    (results / "logs" / "learn.log").write_text("log\n")
    prov.write_manifest("results", CONFIG, [Path("data")], None, "t0", "t1")
    return results


def test_clean_results_pass(audited):
    report = audit(audited)
    assert report.passed and report.exit_code == 0
    assert report.check("outputs").status == PASS
    assert report.check("inputs").status == PASS
    assert report.check("environment").status == PASS
    assert report.lines()[-1].startswith("AUDIT PASSED")


def test_tampered_file_fails_and_is_named(audited):
    path = audited / "learn" / "metrics.tsv"
    path.write_text(path.read_text().replace("1", "9"))  # same size, other bytes
    report = audit(audited)
    assert not report.passed and report.exit_code == 1
    outputs = report.check("outputs")
    assert outputs.status == FAIL
    assert outputs.details == {"modified": ["learn/metrics.tsv"]}
    text = "\n".join(report.lines())
    assert "modified: learn/metrics.tsv" in text
    assert text.splitlines()[-1] == "AUDIT FAILED: outputs"


def test_missing_and_extra_files_are_reported(audited):
    (audited / "group" / "mri_qc.tsv").unlink()
    (audited / "group" / "surprise.tsv").write_text("x\n")
    (audited / "logs" / "another.log").write_text("logs are not outputs\n")
    outputs = audit(audited).check("outputs")
    assert outputs.status == FAIL
    assert outputs.details == {"missing": ["group/mri_qc.tsv"], "extra": ["group/surprise.tsv"]}


def test_modified_input_fails_and_missing_inputs_warn(audited, tmp_path):
    (tmp_path / "data" / "participants.tsv").write_text("participant_id\nsub-02\n")
    inputs = audit(audited).check("inputs")
    assert inputs.status == FAIL
    assert inputs.details == {"modified": ["data/participants.tsv"]}
    (tmp_path / "data" / "participants.tsv").unlink()
    report = audit(audited)
    assert report.check("inputs").status == WARN
    assert report.passed  # unavailable inputs are a warning...
    assert not audit(audited, strict=True).passed  # ...unless strict
    assert audit(audited, verify_inputs=False).check("inputs").status == SKIP


def test_environment_differences_are_named(audited):
    manifest = json.loads(prov.manifest_path(audited).read_text())
    manifest["packages"]["numpy"] = "1.0.0"
    manifest["packages"]["nilearn"] = None
    manifest["platform"]["python"] = "2.7.18"
    prov.manifest_path(audited).write_text(json.dumps(manifest))
    environment = audit(audited).check("environment")
    assert environment.status == WARN
    assert "numpy" in environment.summary and "python" in environment.summary
    assert environment.details["package"] == [
        f"nilearn: recorded not installed, now {prov.package_versions(['nilearn'])['nilearn']}",
        f"numpy: recorded 1.0.0, now {np.__version__}",
    ]
    assert environment.details["platform"][0].startswith("python: recorded 2.7.18, now 3.")


def test_environment_check_against_a_given_environment(audited):
    manifest = prov.read_manifest(audited)
    current = {"packages": {**manifest["packages"], "torch": "9.9"}, "platform": {}}
    current["platform"] = manifest["platform"]
    check = check_environment(manifest, current)
    assert check.details == {
        "package": [f"torch: recorded {manifest['packages']['torch']}, now 9.9"]
    }


def test_code_differences_are_named(audited):
    manifest = json.loads(prov.manifest_path(audited).read_text())
    manifest["psymodal"] = {"version": "0.0.1", "commit": "0" * 40, "dirty": True}
    prov.manifest_path(audited).write_text(json.dumps(manifest))
    code = audit(audited).check("code")
    assert code.status == WARN
    assert code.details["code"][0].startswith("version: recorded 0.0.1")
    assert "the recorded run used uncommitted changes" in code.details["code"]
    if prov.git_state():
        assert any(line.startswith(f"commit: recorded {'0' * 40}") for line in code.details["code"])


def test_audit_command_exit_codes_and_json(audited, capsys):
    assert main(["audit", str(audited)]) == 0
    assert "AUDIT PASSED" in capsys.readouterr().out
    assert main(["audit", str(audited), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True
    assert [c["name"] for c in report["checks"]] == [
        "outputs",
        "inputs",
        "code",
        "environment",
        "logs",
        "digest",
        "signature",
        "recompute",
    ]
    (audited / "learn" / "metrics.tsv").write_text("changed\n")
    assert main(["audit", str(audited)]) == 1
    assert "FAIL outputs" in capsys.readouterr().out
    # usage errors: no manifest, --subjects without --rerun
    assert main(["audit", str(audited / "learn")]) == 2
    assert "manifest.json not found" in capsys.readouterr().err
    assert main(["audit", str(audited), "--subjects", "2"]) == 2


def test_audit_command_usage_error_from_argparse():
    result = subprocess.run(
        [sys.executable, "-m", "psymodal.cli", "audit"], capture_output=True, text=True
    )
    assert result.returncode == 2


def test_versioned_layout_audits_only_the_run_and_its_stage_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "participants.tsv").write_text("participant_id\nsub-01\n")
    results = tmp_path / "results"
    for name in (
        "runs/run-a/learn/metrics.tsv",
        "mri-k1/sub-01/func/sub-01_features.tsv",
        "mri-k1/group/mri_qc.tsv",
        "speech-k2/sub-01/audio/sub-01_features.tsv",
    ):
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text(f"{name}\n")
    (results / "LATEST").write_text("run-a\n")
    stages = {"mri": results / "mri-k1", "speech": results / "speech-k2"}
    run = results / "runs" / "run-a"
    prov.write_manifest(results, CONFIG, [Path("data")], run_dir=run, stage_dirs=stages)
    assert audit(results).passed
    # another run and another stage folder are not this run's business...
    (results / "runs" / "run-b" / "learn").mkdir(parents=True)
    (results / "runs" / "run-b" / "learn" / "metrics.tsv").write_text("other\n")
    (results / "mri-k9").mkdir()
    (results / "mri-k9" / "x.tsv").write_text("other\n")
    assert audit(results).check("outputs").status == PASS
    # ...but the stage folders it used are
    (results / "mri-k1" / "sub-01" / "func" / "sub-01_features.tsv").write_text("tampered\n")
    (results / "speech-k2" / "stray.tsv").write_text("stray\n")
    outputs = audit(run).check("outputs")
    assert outputs.details == {
        "modified": ["mri-k1/sub-01/func/sub-01_features.tsv"],
        "extra": ["speech-k2/stray.tsv"],
    }


def test_rerun_config_reads_the_same_inputs_and_never_writes_over_results(tmp_path):
    (tmp_path / "run" / "data").mkdir(parents=True)
    config = {
        "results_dir": str(tmp_path / "out"),
        "dataset": {"source": "bids", "bids_dir": "data"},
    }
    new, rewritten = prepare_rerun_config(config, tmp_path / "run", tmp_path / "tmp")
    assert new["dataset"] == config["dataset"]  # as recorded, through a link
    assert (tmp_path / "tmp" / "data").resolve() == (tmp_path / "run" / "data").resolve()
    assert new["results_dir"] == "results" and rewritten == ["results_dir"]


def test_workdir_is_inferred_from_the_recorded_results_location(tmp_path):
    assert infer_workdir(tmp_path / "w" / "results" / "run-a", "results/run-a") == tmp_path / "w"
    assert infer_workdir(tmp_path / "moved", "results") == Path.cwd()


# ---- the small demo workflow run (slow) ----------------------------------------------------
@pytest.fixture
def demo_results(small_demo):
    """The results of the session's small demo run (conftest.py), with its manifest."""
    return small_demo / "results"


@pytest.mark.slow
def test_demo_run_audits_clean(demo_results):
    report = audit(demo_results)
    assert report.check("outputs").status == PASS, report.lines()
    assert report.check("inputs").status == PASS, report.lines()
    manifest = prov.read_manifest(demo_results)
    assert any(r["path"].endswith("learn/metrics.tsv") for r in manifest["outputs"])
    assert any(r["path"].endswith("code/psymodal-demo.json") for r in manifest["inputs"])


@pytest.mark.slow
def test_rerun_of_a_few_subjects_reproduces_their_files(demo_results, tmp_path):
    report = audit(demo_results, rerun=True, subjects=1, tmp_root=tmp_path, seed=0)
    rerun = report.check("rerun")
    assert rerun.status == PASS, "\n".join(report.lines())
    (subject,) = sampling.draw_subjects([f"sub-{i:02d}" for i in range(1, 13)], 1, seed=0)
    assert subject in rerun.details["note"][0]
    assert "seed 0" in rerun.details["sample"][0]
    outputs = prov.read_manifest(demo_results)["outputs"]
    assert any(subject in r["path"].split("/") for r in outputs)
    assert report.passed


def _fake_rerun(small_demo: Path, forge: dict[str, bytes] | None = None):
    """Stand-in for the audit's Snakemake call: the small demo's folders hard-linked into the
    rerun folder, as a deterministic rerun would leave them; ``forge`` replaces the bytes of
    some files there (without touching the shared run: a new file, not the linked one)."""

    def run(command, log, cwd, env=None):
        assert command[1:3] == ["-m", "snakemake"] and str(cwd) in command
        for top in ("resources", "results"):
            shutil.copytree(small_demo / top, cwd / top, symlinks=True, copy_function=os.link)
        for name, data in (forge or {}).items():
            (cwd / name).unlink()
            (cwd / name).write_bytes(data)
        Path(log).write_text("the workflow's output\n")
        return 0

    return run


@pytest.mark.slow
def test_whole_workflow_rerun_compares_every_output_and_the_regenerated_demo(
    demo_results, tmp_path, monkeypatch
):
    """``audit(rerun=True)`` of the small demo, with Snakemake's rerun replaced by the files a
    deterministic rerun leaves: every output (manifest and disk) and every input of the
    regenerated demo study is compared, and a passing rerun cleans its folder up. The real
    whole-workflow rerun is ``tests/test_workflow_timeseries.py``'s; the small demo's own
    reproduction is checked per subject and per stage (``--subjects``, ``--relearn``)."""
    small_demo = demo_results.parent
    monkeypatch.setattr(audit_module, "_run", _fake_rerun(small_demo))
    (tmp_path / "pass").mkdir()
    report = audit(demo_results, rerun=True, cores=1, tmp_root=tmp_path / "pass")
    rerun = report.check("rerun")
    assert rerun.status == PASS, "\n".join(report.lines())
    n_outputs = len(prov.read_manifest(demo_results)["outputs"])
    assert rerun.summary.startswith(f"{n_outputs} outputs re-produced identically")
    (regenerated,) = [n for n in rerun.details["note"] if n.startswith("demo study regenerated")]
    n_inputs, of = (int(w) for w in regenerated.split(":")[1].split()[::2][:2])
    assert n_inputs == of > 0
    assert report.passed and report.rerun_dir is None
    assert not any((tmp_path / "pass").iterdir()), "a passing rerun cleans up its folder"

    # a rerun whose learning output and one regenerated demo input differ
    predictions = f"{run_dir(small_demo).relative_to(small_demo)}/learn/predictions.tsv"
    forged_input = "resources/demo/participants.tsv"
    forge = {predictions: b"participant_id\tprobability\n", forged_input: b"participant_id\n"}
    monkeypatch.setattr(audit_module, "_run", _fake_rerun(small_demo, forge))
    (tmp_path / "fail").mkdir()
    report = audit(demo_results, rerun=True, cores=1, tmp_root=tmp_path / "fail")
    rerun = report.check("rerun")
    assert rerun.status == FAIL
    recorded = predictions.removeprefix("results/")
    assert recorded in rerun.details["modified"] and recorded in rerun.details["modified on disk"]
    assert "input demo/participants.tsv" in rerun.details["modified"]
    assert report.rerun_dir is not None and report.rerun_dir.parent == tmp_path / "fail"
