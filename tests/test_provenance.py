"""Provenance manifest (psymodal.provenance.manifest) and report figures."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from psymodal import __version__
from psymodal.cli import main
from psymodal.io.tables import write_tsv
from psymodal.provenance import manifest as prov
from psymodal.report.figures import FIGURE_NAMES, write_report_figures
from psymodal.settings.record import write_config_yaml

CONFIG = {
    "results_dir": "results",
    "dataset": {"source": "bids", "bids_dir": "data", "demo": {"seed": 42}},
    "learn": {"cv": {"folds": 5, "seed": 0}, "permutation_seed": 7},
    "mri": {"qc": {"max_mean_fd": 0.5}},
}


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A working directory with inputs, outputs, logs and Snakemake bookkeeping."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "sub-01").mkdir(parents=True)
    (tmp_path / "data" / "participants.tsv").write_text("participant_id\nsub-01\n")
    (tmp_path / "data" / "sub-01" / "bold.nii.gz").write_bytes(b"\x1f\x8b fake")
    results = tmp_path / "results"
    for name, text in {
        "learn/metrics.tsv": "modality\troc_auc\nmri\t0.7\n",
        "sub-01/func/sub-01_desc-qc.tsv": "participant_id\nsub-01\n",
        "dataset_description.json": "{}\n",
        "logs/learn.log": "took 3 s\n",
        ".snakemake/x": "bookkeeping\n",
    }.items():
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text(text)
    return tmp_path


def _manifest(run_dir, started="2026-01-01T00:00:00+00:00", ended="2026-01-01T01:00:00+00:00"):
    path = prov.write_manifest("results", CONFIG, [run_dir / "data"], None, started, ended)
    return path, json.loads(path.read_text())


def test_manifest_lists_outputs_with_checksums_and_excludes_logs(run_dir):
    path, manifest = _manifest(run_dir)
    assert path.resolve() == run_dir / "results" / "provenance" / "manifest.json"
    names = [r["path"] for r in manifest["outputs"]]
    assert names == sorted(names)
    assert names == [
        "dataset_description.json",
        "learn/metrics.tsv",
        "provenance/config.yaml",
        "sub-01/func/sub-01_desc-qc.tsv",
    ]
    metrics = next(r for r in manifest["outputs"] if r["path"] == "learn/metrics.tsv")
    assert metrics["sha256"] == prov.sha256_file(run_dir / "results" / "learn" / "metrics.tsv")
    assert metrics["size"] == len("modality\troc_auc\nmri\t0.7\n")


def test_manifest_records_inputs_config_seeds_and_environment(run_dir):
    _, manifest = _manifest(run_dir)
    assert manifest["schema"] == prov.MANIFEST_SCHEMA
    assert manifest["results_dir"] == "results"
    # inputs inside the working directory are relative to it; folders are expanded
    assert [r["path"] for r in manifest["inputs"]] == [
        "data/participants.tsv",
        "data/sub-01/bold.nii.gz",
    ]
    assert manifest["config"] == CONFIG
    written = yaml.safe_load((run_dir / "results" / "provenance" / "config.yaml").read_text())
    assert written == CONFIG
    assert manifest["seeds"] == {
        "dataset.demo.seed": 42,
        "learn.cv.seed": 0,
        "learn.permutation_seed": 7,
    }
    assert manifest["psymodal"]["version"] == __version__
    assert set(manifest["psymodal"]) <= {"version", "commit", "dirty"}
    expected = {"numpy", "scipy", "nibabel", "nilearn", "librosa", "torch", "scikit-learn"}
    assert expected | {"snakemake", "pandas"} <= set(manifest["packages"])
    assert manifest["packages"]["numpy"] == np.__version__
    assert manifest["platform"]["python"].count(".") == 2
    assert {"system", "machine"} <= set(manifest["platform"])
    assert manifest["time"] == {
        "started": "2026-01-01T00:00:00+00:00",
        "ended": "2026-01-01T01:00:00+00:00",
    }


def test_seeds_include_those_the_learning_stage_resolved(run_dir):
    info = {"settings": {"cv": {"seed": 0}, "permutation": {"n": 0, "seed": 1}}}
    (run_dir / "results" / "learn" / "run_info.json").write_text(json.dumps(info))
    _, manifest = _manifest(run_dir)
    assert manifest["seeds"]["learn.permutation.seed"] == 1
    assert manifest["seeds"]["dataset.demo.seed"] == 42


def test_manifest_is_deterministic_apart_from_timestamps(run_dir):
    first_path, first = _manifest(run_dir)
    first_bytes = first_path.read_bytes()
    second_path, second = _manifest(run_dir, "2027-05-05T05:05:05+00:00", None)
    assert prov.without_time(first) == prov.without_time(second)
    assert first["time"] != second["time"]
    _manifest(run_dir)
    assert first_path.read_bytes() == first_bytes
    # deterministic key order: sorted at every level
    text = first_bytes.decode()
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_manifest_skips_itself_and_follows_new_outputs(run_dir):
    _manifest(run_dir)
    (run_dir / "results" / "learn" / "new.tsv").write_text("x\n")
    _, manifest = _manifest(run_dir)
    names = [r["path"] for r in manifest["outputs"]]
    assert "learn/new.tsv" in names
    assert "provenance/manifest.json" not in names


@pytest.fixture
def versioned(tmp_path, monkeypatch):
    """The versioned layout: stage folders shared between runs, runs/<label>, LATEST."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "participants.tsv").write_text("participant_id\nsub-01\n")
    results = tmp_path / "results"
    files = {
        "runs/run-a/learn/metrics.tsv": "auc\n0.7\n",
        "runs/run-a/logs/learn.log": "log\n",
        "runs/run-b/learn/metrics.tsv": "another run\n",
        "mri-k1/sub-01/func/sub-01_features.tsv": "f\n1\n",
        "mri-k1/logs/mri_batch-0.log": "",
        "mri-k2/sub-01/func/sub-01_features.tsv": "other settings\n",
        "speech-k3/sub-01/audio/sub-01_features.tsv": "s\n1\n",
        "LATEST": "run-a\n",
    }
    for name, text in files.items():
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text(text)
    (results / "latest").symlink_to("runs/run-a")
    # the workflow's own record of the run's configuration (rule record_config)
    write_config_yaml(CONFIG, results / "runs" / "run-a" / "provenance" / "config.yaml")
    return results


def write_versioned(results, config=CONFIG):
    return prov.write_manifest(
        results,
        config,
        [Path("data")],
        run_dir=results / "runs" / "run-a",
        stage_dirs={"mri": results / "mri-k1", "speech": results / "speech-k3"},
    )


def test_versioned_layout_records_the_run_and_its_stage_folders(versioned):
    path = write_versioned(versioned)
    assert path == versioned / "runs" / "run-a" / "provenance" / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["layout"] == {
        "run_dir": "runs/run-a",
        "stage_dirs": {"mri": "mri-k1", "speech": "speech-k3"},
    }
    # other runs, other stage folders, logs and the LATEST pointer are not this run's outputs
    assert [r["path"] for r in manifest["outputs"]] == [
        "mri-k1/sub-01/func/sub-01_features.tsv",
        "runs/run-a/learn/metrics.tsv",
        "runs/run-a/provenance/config.yaml",
        "speech-k3/sub-01/audio/sub-01_features.tsv",
    ]


def test_find_manifest_from_results_run_or_latest_link(versioned):
    manifest = write_versioned(versioned)
    for where in (versioned, versioned / "latest", versioned / "runs" / "run-a", manifest):
        found, root = prov.find_manifest(where)
        assert found.resolve() == manifest.resolve()
        assert root == versioned.resolve()
    assert prov.read_manifest(versioned)["layout"]["run_dir"] == "runs/run-a"


def test_versioned_run_keeps_its_recorded_config(versioned):
    recorded = versioned / "runs" / "run-a" / "provenance" / "config.yaml"
    before = recorded.stat().st_mtime_ns
    write_versioned(versioned)
    assert recorded.stat().st_mtime_ns == before  # same configuration: left untouched
    with pytest.raises(ValueError, match="another configuration"):
        write_versioned(versioned, {**CONFIG, "results_dir": "elsewhere"})


def test_manifest_command_finds_the_latest_run(versioned, monkeypatch):
    monkeypatch.setattr(
        "psymodal.workflow.plan.StudyPlan.from_config",
        lambda config: pytest.fail("stage folders are given, no plan needed"),
    )
    stages = ["--stage-dirs", "mri=results/mri-k1", "speech=results/speech-k3"]
    assert main(["manifest", "results", "--inputs", "data", *stages]) == 0
    manifest = prov.read_manifest(versioned)
    assert manifest["config"] == CONFIG  # read from the run's provenance/config.yaml
    assert manifest["layout"]["run_dir"] == "runs/run-a"
    assert manifest["time"]["started"] is not None  # the run's oldest job log


def test_missing_input_is_an_error(run_dir):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prov.write_manifest("results", CONFIG, [run_dir / "nowhere"])


def test_read_manifest_rejects_foreign_json(tmp_path):
    (tmp_path / "provenance").mkdir()
    (tmp_path / "provenance" / "manifest.json").write_text('{"schema": "other"}')
    with pytest.raises(ValueError, match="psymodal-manifest"):
        prov.read_manifest(tmp_path)
    with pytest.raises(FileNotFoundError):
        prov.read_manifest(tmp_path / "elsewhere")


def test_package_versions_reads_metadata_only():
    versions = prov.package_versions(["numpy", "surely-not-installed-psymodal"])
    assert versions == {"numpy": np.__version__, "surely-not-installed-psymodal": None}


def test_study_inputs_of_demo_is_the_dataset_folder():
    config = {
        "dataset": {"source": "demo", "bids_dir": "resources/demo", "demo": {"small": True}},
        "results_dir": "results",
    }
    assert [str(p) for p in prov.study_inputs(config)] == ["resources/demo"]


def test_manifest_command(run_dir):
    (run_dir / "cfg.yaml").write_text(yaml.safe_dump(CONFIG))
    code = main(
        ["manifest", "results", "--config", "cfg.yaml", "--inputs", "data", "--started", "t0"]
    )
    assert code == 0
    manifest = prov.read_manifest(run_dir / "results")
    assert manifest["time"]["started"] == "t0"
    assert manifest["time"]["ended"] is not None
    assert len(manifest["inputs"]) == 2


def test_dataset_description_names_psymodal(tmp_path):
    description = json.loads(prov.write_dataset_description(tmp_path).read_text())
    assert description["GeneratedBy"][0]["Name"] == "psymodal"


# ---- report figures -----------------------------------------------------------------------
def _learn_results(root):
    rng = np.random.default_rng(0)
    rows, metrics = [], []
    ids = [f"sub-{i:02d}" for i in range(1, 21)]
    y = np.array([i % 2 for i in range(20)])
    for modality, signal in (("mri", 1.0), ("speech", 2.0), ("late_fusion", 1.5), ("confounds", 0)):
        prob = 1 / (1 + np.exp(-(signal * (y - 0.5) + rng.normal(size=20))))
        rows += [
            {
                "participant_id": s,
                "fold": i % 5,
                "repeat": 0,
                "modality": modality,
                "model": "logistic",
                "y_true": int(t),
                "probability": p,
            }
            for i, (s, t, p) in enumerate(zip(ids, y, prob, strict=True))
        ]
        metrics.append(
            {
                "model": "logistic",
                "modality": modality,
                "n_subjects": 20,
                "n_positive": 10,
                "roc_auc": 0.6,
                "balanced_accuracy": 0.55,
                "roc_auc_ci_low": 0.4,
                "roc_auc_ci_high": 0.8,
                "balanced_accuracy_ci_low": 0.35,
                "balanced_accuracy_ci_high": 0.75,
                "brier": 0.24,
                "p_value": np.nan,
            }
        )
    write_tsv(pd.DataFrame(rows), root / "learn" / "predictions.tsv")
    write_tsv(pd.DataFrame(metrics), root / "learn" / "metrics.tsv")
    qc = pd.DataFrame(
        {
            "participant_id": ids,
            "modality": "fmri",
            "included": [i != 3 for i in range(20)],
            "reason": ["" if i != 3 else "no run" for i in range(20)],
            "mean_fd": [np.nan if i == 3 else 0.1 + 0.03 * i for i in range(20)],
        }
    )
    write_tsv(qc, root / "group" / "mri_qc.tsv")


# explicit thresholds: the speech defaults would import the speech stage (librosa)
MRI = {"qc": {"max_mean_fd": 0.5}}
SPEECH = {"qc": {"min_speech_s": 0.5}}


def test_report_figures_are_written_and_byte_identical(tmp_path):
    _learn_results(tmp_path / "results")
    first = write_report_figures(tmp_path / "results", tmp_path / "a", MRI, SPEECH)
    second = write_report_figures(tmp_path / "results", tmp_path / "b", MRI, SPEECH)
    assert [p.name for p in first] == list(FIGURE_NAMES)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    png = first[0].read_bytes()
    assert png.startswith(b"\x89PNG") and b"Software" not in png and b"matplotlib" not in png
    table = (tmp_path / "a" / "metrics_table.html").read_text()
    assert "0.60 [0.40, 0.80]" in table
    assert "confounds (baseline)" in table


def test_report_figures_without_tables_still_write_every_file(tmp_path):
    written = write_report_figures(tmp_path, None, MRI, SPEECH)
    assert [p.parent for p in written] == [tmp_path / "figures"] * len(FIGURE_NAMES)
    assert all(p.stat().st_size > 0 for p in written)
    assert "no metrics" in (tmp_path / "figures" / "metrics_table.html").read_text()


def test_figures_command(tmp_path, capsys):
    _learn_results(tmp_path)
    args = ["--mri-settings", json.dumps(MRI), "--speech-settings", json.dumps(SPEECH)]
    assert main(["figures", str(tmp_path), *args]) == 0
    assert "roc_curves.png" in capsys.readouterr().out
