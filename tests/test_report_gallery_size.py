"""QC galleries stay loadable inside Snakemake's single-file report: reduced JPEG copies of the
figures, and a page-size limit past which figures are listed by path (issue 15: 10 MB galleries
were blank in Chromium, which loads no data URL above 2 MB)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from psymodal.io.tables import write_tsv
from psymodal.report.qc_gallery import qc_gallery


def test_large_figures_are_reduced_and_the_page_stays_under_its_limit(tmp_path):
    rng = np.random.default_rng(0)
    ids = [f"sub-{k:02d}" for k in range(1, 9)]
    write_tsv(
        pd.DataFrame({"participant_id": ids, "included": True, "mean_fd": np.linspace(0, 1, 8)}),
        tmp_path / "group" / "mri_qc.tsv",
    )
    for pid in ids:  # noisy figures wider than the embedded copies
        fig = tmp_path / pid / "figures" / f"{pid}_task-rest_desc-qc_bold.png"
        fig.parent.mkdir(parents=True)
        pixels = rng.integers(0, 255, (240, 990, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(fig)
    qc = tmp_path / "group" / "mri_qc.tsv"
    out = qc_gallery(qc, tmp_path, tmp_path / "g.html", max_bytes=300_000)
    page = out.read_text()
    assert len(page) <= 300_000
    assert 1 <= page.count("data:image/jpeg;base64,") < len(ids)
    assert "Figure not embedded (page size limit): sub-01/figures/" in page  # least motion last
    # embedded in the order of the page: the worst head motion first
    assert page.index('<section id="sub-08"') < page.index("data:image/jpeg")
