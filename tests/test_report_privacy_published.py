"""The report's Privacy section shows no unsourced figure: the anonymisation and linkage figures
a run cannot measure are labelled published benchmark figures with their RESULTS.md section and
command, and the captions carry no figures of their own."""

from __future__ import annotations

import re

from _helpers import REPO
from psymodal.privacy.published import PUBLISHED
from psymodal.report.privacy import PUBLISHED_HEADERS, privacy_html


def test_published_figures_are_labelled_with_section_and_command(tmp_path):
    text = privacy_html(None, {}, tmp_path / "privacy.html").read_text()
    assert "not measured on this run" in text and "snakemake share" in text
    for header in PUBLISHED_HEADERS:
        assert f"<th>{header}</th>" in text
    rows = re.findall(r'<tr><th scope="row">.*</tr>', text)
    assert len(rows) == len(PUBLISHED)
    for row, entry in zip(rows, PUBLISHED.values(), strict=True):
        assert f"benchmarks/RESULTS.md, section &#x27;{entry['section']}&#x27;" in row
        assert f"<code>{entry['command']}</code>" in row
        for value in entry["figures"].values():
            for number in value if isinstance(value, list) else [value]:
                assert f"{number:.3f}" in row


def test_privacy_captions_carry_no_figures_of_their_own():
    # the reading bands of the membership table are thresholds the caption defines, not results
    allowed = {"0.5", "0.55", "0.65"}
    for name in ("privacy_table.rst", "privacy_attacks.rst"):
        caption = (REPO / "workflow" / "report" / name).read_text()
        numbers = set(re.findall(r"\b\d+\.\d+\b", caption))
        assert numbers <= allowed, (name, numbers - allowed)
