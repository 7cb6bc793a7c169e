"""QC galleries too large for one page of the single-file report go on continuation pages:
every embedded subject's figure is shown, each page under the size limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from psymodal.io.tables import write_tsv
from psymodal.report.qc_gallery import continuation_page, qc_gallery


def _study(root, n=8):
    rng = np.random.default_rng(0)
    ids = [f"sub-{k:02d}" for k in range(1, n + 1)]
    write_tsv(
        pd.DataFrame({"participant_id": ids, "included": True, "mean_fd": np.linspace(0, 1, n)}),
        root / "group" / "mri_qc.tsv",
    )
    for pid in ids:  # noisy figures: ~100 kB each once reduced
        fig = root / pid / "figures" / f"{pid}_task-rest_desc-qc_bold.png"
        fig.parent.mkdir(parents=True)
        Image.fromarray(rng.integers(0, 255, (240, 990, 3), dtype=np.uint8)).save(fig)
    return root / "group" / "mri_qc.tsv", ids


def test_figures_past_the_first_page_go_on_the_next_pages(tmp_path):
    qc, ids = _study(tmp_path)
    pages_dir = tmp_path / "pages"
    (pages_dir).mkdir()
    continuation_page(pages_dir, 9).write_text("a page of an earlier run")
    first = qc_gallery(qc, tmp_path, tmp_path / "g.html", max_bytes=300_000, pages_dir=pages_dir)
    pages = [first, *sorted(pages_dir.glob("page-*.html"))]
    assert len(pages) >= 2 and not continuation_page(pages_dir, 9).exists()
    texts = [p.read_text() for p in pages]
    assert all(len(text) <= 300_000 for text in texts)
    joined = "".join(texts)
    assert joined.count("data:image/jpeg;base64,") == len(ids)  # every figure, once
    assert "not embedded" not in joined
    assert f"{len(pages)} pages" in texts[0] and "page 2: sub-" in texts[0]
    assert f"page 2 of {len(pages)}" in texts[1]
    # the order of the table runs on across the pages: the worst head motion first
    order = [joined.index(f'<section id="{pid}"') for pid in reversed(ids)]
    assert order == sorted(order)
    again = qc_gallery(qc, tmp_path, tmp_path / "h.html", max_bytes=300_000, pages_dir=pages_dir)
    assert again.read_bytes() == first.read_bytes()


def test_a_gallery_that_fits_has_no_continuation_page(tmp_path):
    qc, _ = _study(tmp_path, n=2)
    pages_dir = tmp_path / "pages"
    first = qc_gallery(qc, tmp_path, tmp_path / "g.html", pages_dir=pages_dir)
    assert pages_dir.is_dir() and not list(pages_dir.iterdir())
    assert "pages:" not in first.read_text()
