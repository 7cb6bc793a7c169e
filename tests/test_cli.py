import subprocess
import sys

from psymodal.cli import main


def test_help_explains_usage():
    result = subprocess.run(
        [sys.executable, "-m", "psymodal.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("demo", "mri", "speech", "learn", "collect"):
        assert command in result.stdout


def test_atlas_command_is_deterministic(tmp_path):
    assert main(["atlas", str(tmp_path / "a")]) == 0
    assert main(["atlas", str(tmp_path / "b")]) == 0
    first = (tmp_path / "a" / "atlas-dosenbach160_dseg.nii.gz").read_bytes()
    assert first == (tmp_path / "b" / "atlas-dosenbach160_dseg.nii.gz").read_bytes()


def test_bad_input_exits_with_message(tmp_path, capsys):
    code = main(["collect", str(tmp_path / "out.tsv"), str(tmp_path / "missing.tsv")])
    assert code == 2
    assert "missing.tsv" in capsys.readouterr().err
