"""Every published privacy figure that psymodal quotes (linkage_risk.json, the report) is
written in the benchmarks/RESULTS.md section it names, with the command it names."""

from __future__ import annotations

import re

import pytest

from _helpers import REPO
from psymodal.privacy.published import PUBLISHED, published_entry


def _section(title: str) -> str:
    text = (REPO / "benchmarks" / "RESULTS.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_figure_is_in_its_section_with_its_command(name):
    entry = PUBLISHED[name]
    section = _section(entry["section"])
    assert entry["command"] in section
    for value in entry["figures"].values():
        for number in value if isinstance(value, list) else [value]:
            assert re.search(rf"(?<![0-9.]){number:.3f}(?![0-9])", section), (name, number)
    quoted = published_entry(name)
    assert quoted["source"] == f"benchmarks/RESULTS.md, section '{entry['section']}'"
