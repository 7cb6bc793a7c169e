"""The single-file Snakemake report, opened in a real headless browser (Chromium): the landing
page describes the study and every embedded page (QC galleries, metrics table) loads with
content. Skipped where Chromium is not installed (Debian: ``apt-get install chromium``)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Chromium loads no data URL longer than this (url/url_constants.h, kMaxURLChars).
MAX_DATA_URL = 2 * 1024 * 1024

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]


def _dom(path, tmp_path) -> str:
    """The page's DOM after its scripts ran (headless Chromium)."""
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_single_file_report_renders_in_chromium(small_demo_report, tmp_path):
    report = small_demo_report
    text = report.read_text()

    landing = _dom(report, tmp_path)
    assert "psymodal study report" in landing and "Who was included" in landing
    assert "confound" in landing and "(baseline)" in landing

    pages = re.findall(r"data:text/html;[^,\"]*base64,([A-Za-z0-9+/=]+)", text)
    assert pages, "no embedded HTML page found in the report"
    for k, data in enumerate(pages):
        assert len(data) < MAX_DATA_URL, f"embedded page {k} is {len(data)} characters"
        page = tmp_path / f"page{k}.html"
        page.write_bytes(base64.b64decode(data))
        dom = _dom(page, tmp_path)
        assert re.search(r"<(table|img)\b", dom), f"embedded page {k} is blank"
