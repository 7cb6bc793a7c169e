"""`snakemake anonymize`: the target plans the shareable copy, and refuses a study without key."""

from __future__ import annotations

import pytest

from _helpers import SNAKEMAKE, scenario_config, write_config
from psymodal.privacy.paths import key_file, shareable_dir
from psymodal.settings import resolve_config


def test_the_demo_key_lies_next_to_the_study_and_real_studies_need_one(tmp_path):
    demo = resolve_config({"dataset": {"bids_dir": "resources/demo"}})
    assert str(key_file(demo)) == "resources/demo.pseudonym.key"
    assert str(shareable_dir(demo)) == "results/shareable"
    real = resolve_config({"dataset": {"source": "bids", "bids_dir": str(tmp_path)}})
    with pytest.raises(ValueError, match="pseudonym-key"):
        key_file(real)
    inside = resolve_config(
        {"results_dir": str(tmp_path), "anonymize": {"key_file": str(tmp_path / "k.key")}}
    )
    with pytest.raises(ValueError, match="inside results_dir"):
        key_file(inside)


def test_snakemake_anonymize_plans_the_key_and_the_copy(tmp_path):
    import subprocess

    workdir = write_config(tmp_path, scenario_config("small-demo"))
    result = subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "-n", "anonymize"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    planned = result.stdout + result.stderr
    for rule in ("demo_dataset", "demo_pseudonym_key", "anonymize"):
        assert rule in planned
    assert "rule learn" not in planned
