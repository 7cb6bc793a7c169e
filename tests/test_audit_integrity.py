"""``psymodal audit`` against forgery: run digest, signatures, recomputed metrics, logs,
temporary files, damaged manifests, random subject samples and the text report."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psymodal.cli import main
from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn.pipeline import run as learn
from psymodal.learn.simulate import simulate_study, write_study
from psymodal.provenance import manifest as prov
from psymodal.provenance import sampling
from psymodal.provenance.audit import FAIL, PASS, SKIP, WARN, audit, compare_with_disk
from psymodal.provenance.integrity import sign_manifest, signature_path, verify_signature

LEARN = {"permutation": {"n": 5}, "metrics": {"bootstrap": 20}, "cv": {"folds": 3}}
CONFIG = {
    "results_dir": "results",
    "dataset": {"source": "bids", "bids_dir": "data"},
    # the simulated mri table holds plain features, not covariances: with the tangent default
    # the recorded config would make the audit's relearning apply the tangent transform to them
    "mri": {"anat": {"enabled": False}, "connectivity": "correlation"},
    "learn": LEARN,
}
HAS_SSH_KEYGEN = shutil.which("ssh-keygen") is not None


def forge(results: Path, name: str, text: str) -> None:
    """What a forger does: change a result and its checksum in the manifest."""
    (results / name).write_text(text)
    path, _ = prov.find_manifest(results)
    manifest = json.loads(path.read_text())
    for record in manifest["outputs"]:
        if record["path"] == name:
            record.update(sha256=prov.sha256_file(results / name), size=len(text.encode()))
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def _study(tmp_path_factory):
    """A flat results folder as the workflow leaves it, from a simulated study: group tables,
    the learning stage run as its rule runs it (paths relative to the working directory), a
    log and the manifest. Made once per module; tests get a copy (``results``)."""
    root = tmp_path_factory.mktemp("integrity_study")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        participants, features = simulate_study(36, signal={"mri": 1.0}, seed=2)
        write_study(participants, {}, "data")
        tables = {"features": {}, "qc": {}}
        for modality, table in features.items():
            ids = table["participant_id"]
            qc = pd.DataFrame({"participant_id": ids, "modality": modality, "included": True})
            for kind, content in (("features", table), ("qc", qc)):
                tables[kind][modality] = write_tsv(content, f"results/group/{modality}_{kind}.tsv")
        learn("data/participants.tsv", tables["features"], tables["qc"], "results/learn", LEARN)
        (root / "results" / "logs").mkdir()
        (root / "results" / "logs" / "learn.log").write_text("learned\n")
        prov.write_manifest("results", CONFIG, [Path("data")], None, "t0", "t1")
    return root


@pytest.fixture
def results(_study, tmp_path, monkeypatch):
    """This test's copy of the module's study and results (the working directory is the copy's
    folder, as for the rule that wrote them): a test may forge or sign it freely."""
    for name in ("data", "results"):
        shutil.copytree(_study / name, tmp_path / name, symlinks=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "results"


# ---- run digest ----------------------------------------------------------------------------
def test_run_digest_is_written_beside_the_manifest_and_printed(results, capsys):
    manifest = prov.read_manifest(results)
    digest = prov.run_digest(manifest)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert prov.digest_path(prov.manifest_path(results)).read_text() == digest + "\n"
    # canonical: the same content indented otherwise has the same digest
    path = prov.manifest_path(results)
    path.write_text(json.dumps(manifest))
    assert prov.run_digest(prov.read_manifest(results)) == digest
    assert main(["manifest", "results", "--config", json.dumps(CONFIG), "--inputs", "data"]) == 0
    assert "run digest: sha256:" in capsys.readouterr().out


def test_a_forged_result_with_its_checksum_passes_the_checksums_but_not_the_digest(results, capsys):
    digest = prov.run_digest(prov.read_manifest(results))
    assert main(["audit", str(results), "--expect", digest]) == 0
    capsys.readouterr()
    forge(results, "learn/exclusions.tsv", "participant_id\treason\nsub-0001\tforged\n")
    report = audit(results)
    assert report.check("outputs").status == PASS  # checksums catch accidents only...
    assert report.check("digest").status == FAIL  # ...manifest.sha256 is stale
    report = audit(results, expect=digest)
    assert report.check("digest").status == FAIL and not report.passed
    assert report.check("digest").details["expected"] == [digest]
    assert main(["audit", str(results), "--expect", digest]) == 1
    assert "FAIL digest" in capsys.readouterr().out
    # a forger who also rewrites manifest.sha256 still fails against the lab's record
    prov.write_digest(prov.manifest_path(results))
    assert audit(results).check("digest").status == SKIP
    assert audit(results, expect=digest.removeprefix("sha256:")).check("digest").status == FAIL


def test_unsigned_run_is_integrity_against_accidental_change_only(results):
    report = audit(results)
    signature = report.check("signature")
    assert signature.status == WARN and report.passed
    assert "integrity against accidental change only" in signature.summary
    expected = prov.run_digest(prov.read_manifest(results))
    report = audit(results, expect=expected)
    assert report.check("digest").status == PASS
    assert report.check("signature").status == SKIP


# ---- signatures ----------------------------------------------------------------------------
def _key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key


def _allowed(folder: Path, identity: str, key: Path) -> Path:
    path = folder / f"allowed_{key.name}"
    public = key.with_suffix(".pub").read_text().strip()
    path.write_text(f'{identity} namespaces="psymodal" {public}\n')
    return path


@pytest.mark.skipif(not HAS_SSH_KEYGEN, reason="ssh-keygen (openssh-client) not installed")
def test_signature_verifies_only_with_the_signing_key_and_unedited_manifest(
    results, tmp_path, capsys
):
    keys = tmp_path / "keys"
    keys.mkdir()
    lab, other = _key(keys, "lab"), _key(keys, "other")
    assert main(["sign", str(results), "--key", str(lab)]) == 0
    manifest = prov.manifest_path(results)
    assert signature_path(manifest).is_file()
    assert "run digest: sha256:" in capsys.readouterr().out
    allowed = _allowed(keys, "pi@lab.example", lab)
    ok, message = verify_signature(manifest, allowed, "pi@lab.example")
    assert ok, message
    report = audit(results, allowed_signers=allowed, identity="pi@lab.example")
    assert report.check("signature").status == PASS and report.passed
    assert report.check("outputs").status == PASS  # the signature is not an output
    # a signature made with one key does not verify with another
    wrong = _allowed(keys, "pi@lab.example", other)
    assert (
        audit(results, allowed_signers=wrong, identity="pi@lab.example").check("signature").status
        == FAIL
    )
    assert not audit(results, allowed_signers=allowed, identity="someone@else").passed
    # an edited signed manifest fails
    forge(results, "learn/exclusions.tsv", "participant_id\treason\nsub-0001\tforged\n")
    report = audit(results, allowed_signers=allowed, identity="pi@lab.example")
    assert report.check("signature").status == FAIL and not report.passed
    code = main(
        ["audit", str(results), "--allowed-signers", str(allowed), "--identity", "pi@lab.example"]
    )
    assert code == 1 and "FAIL signature" in capsys.readouterr().out
    # a required signature that is absent fails; a signer's file without identity is a usage error
    signature_path(manifest).unlink()
    assert (
        audit(results, allowed_signers=allowed, identity="pi@lab.example").check("signature").status
        == FAIL
    )
    assert main(["audit", str(results), "--allowed-signers", str(allowed)]) == 2


@pytest.mark.skipif(not HAS_SSH_KEYGEN, reason="ssh-keygen (openssh-client) not installed")
def test_signing_with_a_missing_key_is_a_usage_error(results, tmp_path, capsys):
    assert main(["sign", str(results), "--key", str(tmp_path / "nokey")]) == 2
    assert "nokey" in capsys.readouterr().err
    (tmp_path / "notakey").write_text("not a key\n")
    with pytest.raises(ValueError, match="could not sign"):
        sign_manifest(prov.manifest_path(results), tmp_path / "notakey")


# ---- recomputation -------------------------------------------------------------------------
def test_metrics_are_recomputed_from_the_predictions(results):
    recompute = audit(results).check("recompute")
    assert recompute.status == PASS, recompute.lines()
    assert "metrics.tsv" in recompute.summary and "calibration.tsv" in recompute.summary


def test_a_raised_auc_with_a_matching_manifest_fails(results, capsys):
    metrics = read_tsv(results / "learn" / "metrics.tsv")
    metrics.loc[0, "roc_auc"] = min(1.0, metrics.loc[0, "roc_auc"] + 0.1)
    write_tsv(metrics, results / "learn" / "metrics.tsv")
    forge(results, "learn/metrics.tsv", (results / "learn" / "metrics.tsv").read_text())
    prov.write_digest(prov.manifest_path(results))  # a careful forger
    report = audit(results)
    assert report.check("outputs").status == PASS and report.check("digest").status == SKIP
    recompute = report.check("recompute")
    assert recompute.status == FAIL and not report.passed
    first = f"{metrics.loc[0, 'model']} {metrics.loc[0, 'modality']}: roc_auc stored"
    assert recompute.details["metrics"][0].startswith(first)
    assert main(["audit", str(results)]) == 1
    assert "FAIL recompute" in capsys.readouterr().out


def test_forged_calibration_and_p_value_fail(results):
    calibration = read_tsv(results / "learn" / "calibration.tsv")
    calibration.loc[1, "fraction_positive"] = 0.5 + calibration.loc[1, "fraction_positive"] / 3
    write_tsv(calibration, results / "learn" / "calibration.tsv")
    metrics = read_tsv(results / "learn" / "metrics.tsv")
    metrics["p_value"] = 0.001
    write_tsv(metrics, results / "learn" / "metrics.tsv")
    recompute = audit(results).check("recompute")
    assert recompute.status == FAIL
    assert any("fraction_positive" in line for line in recompute.details["calibration"])
    assert any("p_value" in line for line in recompute.details["metrics"])


def test_recomputation_can_be_left_out(results):
    assert audit(results, recompute=False).check("recompute").status == SKIP


def test_forged_predictions_fail_relearning(results, tmp_path):
    relearned = audit(results, relearn_stage=True, tmp_root=tmp_path).check("relearn")
    assert relearned.status == PASS, relearned.lines()
    predictions = read_tsv(results / "learn" / "predictions.tsv")
    predictions.loc[3, "probability"] = 1 - predictions.loc[3, "probability"]
    write_tsv(predictions, results / "learn" / "predictions.tsv")
    forge(results, "learn/predictions.tsv", (results / "learn" / "predictions.tsv").read_text())
    report = audit(results, relearn_stage=True, tmp_root=tmp_path)
    relearned = report.check("relearn")
    assert relearned.status == FAIL
    # against the disk and against the (forged) manifest alike
    assert relearned.details["modified on disk"] == ["learn/predictions.tsv"]
    assert relearned.details["modified"] == ["learn/predictions.tsv"]


# ---- logs, temporary files, damaged manifests ---------------------------------------------
def test_logs_are_recorded_and_stray_or_edited_logs_fail(results):
    manifest = prov.read_manifest(results)
    assert [r["path"] for r in manifest["logs"]] == ["logs/learn.log"]
    assert audit(results).check("logs").status == PASS
    (results / "logs" / "manifest.log").write_text("written after the manifest\n")
    (results / "logs" / "audit.log").write_text("snakemake audit\n")
    assert audit(results).check("logs").status == PASS
    (results / "logs" / "stray.log").write_text("x\n")
    (results / "logs" / "learn.log").write_text("edited\n")
    logs = audit(results).check("logs")
    assert logs.status == FAIL
    assert logs.details == {"modified": ["logs/learn.log"], "extra": ["logs/stray.log"]}


def test_temporary_files_never_reach_the_manifest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "participants.tsv").write_text("participant_id\nsub-01\n")
    results = tmp_path / "results"
    (results / "learn").mkdir(parents=True)
    (results / "learn" / "metrics.tsv").write_text("x\n")
    (results / "learn" / ".metrics.tsv.k2_jx9ab.tmp.tsv").write_text("")  # interrupted write
    (results / "learn" / "LATEST.tmp").write_text("")
    prov.write_manifest("results", CONFIG, [Path("data")], None, "t0", "t1")
    names = [r["path"] for r in prov.read_manifest(results)["outputs"]]
    assert not any("tmp" in name for name in names), names
    outputs = audit(results).check("outputs")
    assert outputs.status == WARN
    assert outputs.details == {
        "temporary": ["learn/.metrics.tsv.k2_jx9ab.tmp.tsv", "learn/LATEST.tmp"]
    }
    assert prov.is_temporary("sub-01_bold.nii.gz") is False
    assert prov.is_temporary(".sub-01_bold.nii.gz.abcd1234.tmp.nii.gz") is True


def test_a_truncated_manifest_is_a_failed_audit_that_names_the_file(results, capsys):
    path = prov.manifest_path(results)
    path.write_bytes(path.read_bytes()[:200])
    report = audit(results)
    assert not report.passed and report.check("manifest").status == FAIL
    assert str(path) in report.check("manifest").summary
    assert main(["audit", str(results)]) == 1
    captured = capsys.readouterr()
    assert str(path) in captured.out and "Traceback" not in captured.out + captured.err
    assert main(["audit", str(results), "--report", "report.txt"]) == 1
    assert str(path) in Path("report.txt").read_text()


# ---- the text report -----------------------------------------------------------------------
def test_text_report_says_what_was_checked_how_and_the_result(results, capsys):
    digest = prov.run_digest(prov.read_manifest(results))
    out = results.parent / "audit-report.txt"
    assert main(["audit", str(results), "--expect", digest, "--report", str(out)]) == 0
    text = out.read_text()
    fields = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in text.splitlines()[3:9]
        if ":" in line
    }
    assert fields["expected digest"] == digest == fields["run digest"]
    assert fields["verdict"].startswith("AUDIT PASSED")
    for piece in (
        "verdict:",
        "how: SHA-256 of the manifest's canonical JSON",
        "PASS digest",
        "PASS recompute",
        "recomputed from learn/predictions.tsv",
        "accidental change only",
    ):
        assert piece in text, piece
    assert "report written to" in capsys.readouterr().err


# ---- random subject samples ----------------------------------------------------------------
SUBJECTS = [f"sub-{i:02d}" for i in range(1, 13)]


def test_subject_draws_are_random_reproducible_and_sorted():
    first = sampling.draw_subjects(SUBJECTS, 3, seed=7)
    assert first == sorted(first) and len(set(first)) == 3
    assert sampling.draw_subjects(list(reversed(SUBJECTS)), 3, seed=7) == first
    draws = {tuple(sampling.draw_subjects(SUBJECTS, 3, seed)) for seed in range(50)}
    assert len(draws) > 30  # not the first three every time
    assert sampling.draw_subjects(SUBJECTS, 20, seed=1) == SUBJECTS


def test_detection_probability_formula():
    assert sampling.detection_probability(12, 1, 3) == pytest.approx(3 / 12)
    assert sampling.detection_probability(12, 3, 7) == pytest.approx(1 - 36 / 792)
    assert sampling.detection_probability(12, 0, 5) == 0.0
    assert sampling.detection_probability(12, 2, 12) == 1.0
    assert sampling.subjects_needed(12, 3, 0.95) == 7
    assert sampling.subjects_needed(12, 1, 0.95) == 12
    assert sampling.subjects_needed(100, 10, 0.95) == 25


@pytest.mark.parametrize(("forged", "n_sampled"), [(1, 3), (1, 12), (3, 7), (2, 6)])
def test_sampling_finds_forged_subjects_as_often_as_the_formula_says(forged, n_sampled):
    """1000 seeds: the share of draws that include a forged subject agrees with
    1 - C(n-k, N)/C(n, N) within 4 binomial standard deviations."""
    bad = set(SUBJECTS[5 : 5 + forged])
    found = [
        bool(bad & set(sampling.draw_subjects(SUBJECTS, n_sampled, seed))) for seed in range(1000)
    ]
    p = sampling.detection_probability(len(SUBJECTS), forged, n_sampled)
    sd = np.sqrt(p * (1 - p) / len(found))
    assert abs(np.mean(found) - p) <= 4 * sd + 1e-12
    if n_sampled >= sampling.subjects_needed(len(SUBJECTS), forged, 0.95):
        assert np.mean(found) >= 0.95 - 4 * sd


def test_every_subject_is_drawn_equally_often():
    counts = dict.fromkeys(SUBJECTS, 0)
    for seed in range(1200):
        for subject in sampling.draw_subjects(SUBJECTS, 4, seed):
            counts[subject] += 1
    expected = 1200 * 4 / 12  # 400, binomial sd about 16
    assert all(abs(c - expected) < 80 for c in counts.values()), counts


def test_rerun_files_are_compared_with_the_disk(tmp_path):
    disk, rerun = tmp_path / "disk", tmp_path / "rerun"
    for root, files in ((disk, {"a": "1", "b": "2", "c": "3"}), (rerun, {"a": "1", "b": "9"})):
        root.mkdir()
        for name, text in files.items():
            (root / name).write_text(text)
    (rerun / "d").write_text("4")
    diff = compare_with_disk(["a", "b", "d"], rerun, ["a", "b", "c"], disk)
    assert diff == {"modified on disk": ["b"], "missing on disk": ["d"], "extra on disk": ["c"]}


def test_seed_needs_a_subject_sample(results):
    assert main(["audit", str(results), "--seed", "3"]) == 2


# ---- the small demo workflow run (slow) ----------------------------------------------------
@pytest.fixture
def demo_copy(small_demo, tmp_path):
    """A copy of the session's small demo run (conftest.py) that a test may forge."""
    shutil.copytree(small_demo, tmp_path / "w", symlinks=True)
    return tmp_path / "w" / "results"


def _run_folder(results: Path) -> str:
    return prov.read_manifest(results)["layout"]["run_dir"]


@pytest.mark.slow
def test_demo_run_records_its_digest_and_a_forged_auc_fails_recomputation(demo_copy):
    manifest_file, _ = prov.find_manifest(demo_copy)
    manifest = prov.read_manifest(demo_copy)
    digest = prov.run_digest(manifest)
    assert prov.digest_path(manifest_file).read_text().strip() == digest
    logs = {r["path"] for r in manifest["logs"]}
    assert f"{_run_folder(demo_copy)}/logs/learn.log" in logs
    assert not any(Path(name).name in prov.LATE_LOGS for name in logs)
    report = audit(demo_copy, expect=digest)
    assert report.passed, "\n".join(report.lines())
    for name in ("outputs", "logs", "digest", "recompute"):
        assert report.check(name).status == PASS, report.check(name).lines()
    # the forgery of the issue: a higher AUC, its checksum updated in the manifest
    name = f"{_run_folder(demo_copy)}/learn/metrics.tsv"
    metrics = read_tsv(demo_copy / name)
    metrics.loc[0, "roc_auc"] = min(1.0, metrics.loc[0, "roc_auc"] + 0.05)
    write_tsv(metrics, demo_copy / name)
    forge(demo_copy, name, (demo_copy / name).read_text())
    prov.write_digest(manifest_file)
    report = audit(demo_copy)
    assert report.check("outputs").status == PASS
    assert report.check("recompute").status == FAIL and report.exit_code == 1
    assert audit(demo_copy, expect=digest).check("digest").status == FAIL


@pytest.mark.slow
def test_demo_relearn_reproduces_learning_and_finds_a_forged_prediction(demo_copy, tmp_path):
    name = f"{_run_folder(demo_copy)}/learn/predictions.tsv"
    predictions = read_tsv(demo_copy / name)
    predictions.loc[0, "probability"] = 1 - predictions.loc[0, "probability"]
    write_tsv(predictions, demo_copy / name)
    forge(demo_copy, name, (demo_copy / name).read_text())
    report = audit(demo_copy, relearn_stage=True, tmp_root=tmp_path)
    relearned = report.check("relearn")
    assert relearned.status == FAIL
    # every other learning file (metrics, null, importance, run_info...) is re-produced
    problems = {k: v for k, v in relearned.details.items() if k not in ("note", "sample")}
    assert problems == {"modified": [name], "modified on disk": [name]}, relearned.lines()
