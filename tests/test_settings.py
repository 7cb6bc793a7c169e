"""The settings layer: one schema, every default filled, every misspelt key named."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from psymodal.learn.settings import resolve as resolve_learn
from psymodal.mri.settings import fill_settings
from psymodal.settings import Settings, SettingsError, defaults, resolve_config, resolve_section
from psymodal.speech.features import resolve_settings as resolve_speech

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "psymodal"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"lern": {"models": ["svm"]}}, "`lern`: unknown key; did you mean `learn`?"),
        (
            {"learn": {"modles": ["svm"]}},
            "`learn.modles`: unknown key; did you mean `learn.models`?",
        ),
        (
            {"mri": {"conectivity": "tangent"}},
            "`mri.conectivity`: unknown key; did you mean `mri.connectivity`?",
        ),
        (
            {"speech": {"pitch": {"fmn": 75}}},
            "`speech.pitch.fmn`: unknown key; did you mean `speech.pitch.fmin`?",
        ),
        (
            {"learn": {"cv": {"fold": 3}}},
            "`learn.cv.fold`: unknown key; did you mean `learn.cv.folds`?",
        ),
        (
            {"dataset": {"demo": {"n_subject": 20}}},
            "`dataset.demo.n_subject`: unknown key; did you mean `dataset.demo.n_subjects`?",
        ),
        (
            {"mri": {"qc": {"max_meanfd": 0.3}}},
            "`mri.qc.max_meanfd`: unknown key; did you mean `mri.qc.max_mean_fd`?",
        ),
        (
            {"speech": {"pitch": {"viterbi": {"enable": False}}}},
            "`speech.pitch.viterbi.enable`: unknown key; did you mean "
            "`speech.pitch.viterbi.enabled`?",
        ),
        ({"batchsize": 4}, "`batchsize`: unknown key; did you mean `batch_size`?"),
    ],
)
def test_a_misspelt_key_is_named_with_the_nearest_valid_one(config, message):
    with pytest.raises(SettingsError) as error:
        resolve_config(config)
    assert str(error.value) == message
    assert "\n" not in str(error.value)


def test_a_key_far_from_every_valid_one_lists_the_valid_keys():
    with pytest.raises(SettingsError, match=r"`learn\.zzz`: unknown key; valid keys of learn: "):
        resolve_config({"learn": {"zzz": 1}})


def test_wrong_types_and_values_name_the_key():
    with pytest.raises(SettingsError, match=r"`learn\.cv\.folds`: 1 is less than the minimum"):
        resolve_config({"learn": {"cv": {"folds": 1}}})
    with pytest.raises(SettingsError, match=r"`mri\.connectivity`: 'corr' is not one of"):
        resolve_config({"mri": {"connectivity": "corr"}})


def test_library_entry_points_refuse_misspelt_keys_too():
    with pytest.raises(SettingsError, match="did you mean `mri.connectivity`"):
        fill_settings({"conectivity": "tangent"})
    with pytest.raises(SettingsError, match="did you mean `learn.models`"):
        resolve_learn({"modles": ["svm"]})
    with pytest.raises(SettingsError, match="did you mean `speech.sample_rate`"):
        resolve_speech({"samplerate": 8000})


def test_every_default_is_filled_and_resolving_twice_changes_nothing():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    effective = resolve_config(config)
    assert resolve_config(effective) == effective
    assert effective["learn"]["cv"]["inner_folds"] == 3  # not in config.yaml: the default
    assert effective["learn"]["permutation"]["n"] == 19  # given: kept
    assert effective["mri"]["qc"]["min_minutes"] == 3.0
    assert effective["speech"]["vad"]["min_pause_s"] == 0.25
    assert effective["batch_size"] == 10 and effective["run_label"] is None
    assert resolve_config(None) == resolve_config({})


def test_the_library_defaults_are_the_schema_defaults():
    from psymodal.learn.settings import DEFAULTS as LEARN
    from psymodal.mri.confounds import DEFAULT_CONFOUNDS
    from psymodal.mri.qc import DEFAULT_QC
    from psymodal.mri.settings import DEFAULTS as MRI
    from psymodal.speech.features import DEFAULT_SETTINGS as SPEECH
    from psymodal.speech.prosody import PITCH_DEFAULTS

    assert LEARN == defaults("learn") == resolve_learn({})
    assert MRI == defaults("mri") == fill_settings({})
    assert SPEECH == defaults("speech")
    assert PITCH_DEFAULTS == defaults("speech.pitch")
    assert DEFAULT_QC == defaults("mri.qc")
    # the confound section keeps only what the user gives: the preset fills the rest
    assert fill_settings({})["confounds"] == {"strategy": "simple"}
    assert fill_settings({"confounds": {"strategy": "scrubbing"}})["confounds"] == {
        "strategy": "scrubbing"
    }
    assert DEFAULT_CONFOUNDS["fd_threshold"] == 0.5


def test_precision_connectivity_is_accepted():
    assert resolve_config({"mri": {"connectivity": "precision"}})["mri"]["connectivity"] == (
        "precision"
    )


def test_settings_view_is_read_only_and_typed():
    settings = Settings.from_config({"learn": {"cv": {"folds": 7}}})
    assert settings.learn.cv.folds == 7
    assert settings["learn"]["models"] == ["logistic"]
    with pytest.raises(AttributeError, match="no setting 'fodls'"):
        _ = settings.learn.cv.fodls
    with pytest.raises(AttributeError, match="read-only"):
        settings.learn.cv.folds = 3
    plain = settings.to_dict()
    plain["learn"]["cv"]["folds"] = 2
    assert settings.learn.cv.folds == 7


def test_resolve_section_checks_one_section():
    assert resolve_section("speech.pitch", {"fmin": 75})["fmax"] == 500.0
    with pytest.raises(SettingsError, match=r"`speech\.pitch\.fmx`: unknown key"):
        resolve_section("speech.pitch", {"fmx": 400})


def test_workflow_schema_is_the_library_schema():
    linked = REPO / "workflow" / "schemas" / "config.schema.yaml"
    assert linked.resolve() == (SRC / "settings" / "config.schema.yaml").resolve()


def _default_literals(tree: ast.AST) -> list[str]:
    """``X_DEFAULTS = {...}`` / ``DEFAULT_X = {...}`` dict literals and ``.get("key", literal)``
    calls on names that hold settings."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any("DEFAULT" in n for n in names) and isinstance(node.value, ast.Dict):
                found.append(f"{names[0]} = {{...}} (line {node.lineno})")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"settings", "config", "cfg", "spec", "s", "mri", "speech"}
            and isinstance(node.args[1], ast.Constant)
        ):
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_no_setting_default_is_written_outside_the_schema():
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        if "demo" in path.relative_to(SRC).parts or path.name == "anonymize.py":
            # the demo generator's and `psymodal anonymize-speech`'s own parameters: command
            # arguments, not keys of the workflow configuration
            continue
        found = _default_literals(ast.parse(path.read_text()))
        if found:
            offenders[str(path.relative_to(SRC))] = found
    assert offenders == {}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lern={'models': ['svm']}", "`lern`: unknown key; did you mean `learn`?"),
        ("mri={'conectivity': 'tangent'}", "did you mean `mri.connectivity`?"),
    ],
)
def test_the_workflow_stops_before_any_job_on_a_misspelt_key(tmp_path, override, message):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
        + ["--directory", str(tmp_path), "--cores", "1", "--config", override],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()


def test_config_command_prints_the_effective_settings_or_names_the_typo(tmp_path, capsys):
    from psymodal.cli import main

    good = tmp_path / "good.yaml"
    good.write_text("learn:\n  models: [svm]\n")
    assert main(["config", str(good)]) == 0
    effective = yaml.safe_load(capsys.readouterr().out)
    assert effective == resolve_config({"learn": {"models": ["svm"]}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("learn:\n  modles: [svm]\n")
    assert main(["config", str(bad)]) == 2
    assert "did you mean `learn.models`?" in capsys.readouterr().err
