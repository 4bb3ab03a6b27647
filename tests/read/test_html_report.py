"""regexp.read.html_report: one self-contained page: figures inlined, a table whose cells are
escaped text (numbers marked for sorting), and a small thumbnail per run linked by a relative
URL to its full figure (made in threads from 8 runs on, each in its own run's row)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from urllib.parse import unquote

import matplotlib.image
import numpy as np
import pandas as pd
from PIL import Image

from regexp.read.compare import cli
from regexp.read.html_report import Highlight, thumbnail, write_report
from tests.fixtures_runs import make_run, make_sweep


def test_html_thumbnails_are_small_and_link_the_full_image(tree, tmp_path):
    big = np.random.default_rng(0).random((600, 800, 3))  # noise: a PNG that compresses badly
    matplotlib.image.imsave(tree["hidden"] / "0" / "plots" / "layers.png", big)
    page = tmp_path / "sub" / "t.html"
    cli([str(tree["hidden"]), "--out", str(page)])
    text = page.read_text()
    (uri,) = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    thumb = base64.b64decode(uri)
    assert len(thumb) < 60_000 < (tree["hidden"] / "0" / "plots" / "layers.png").stat().st_size
    with Image.open(io.BytesIO(thumb)) as img:
        assert max(img.size) <= 120
    (href,) = re.findall(r"href='([^']+)'", text)
    assert href == "../multirun/hidden/0/plots/layers.png"


def test_many_thumbnails_sit_in_their_runs_rows(tmp_path):
    """From 8 runs on, thumbnails are made in threads: each still lands in its run's row."""
    jobs = [{"config": {"seed": i}, "overrides": [f"seed={i}"], "plot": True} for i in range(12)]
    sweep = make_sweep(tmp_path / "s", jobs)
    for i in range(12):  # a picture per run: one grey level each
        img = np.full((60, 80, 3), i / 12)
        matplotlib.image.imsave(sweep / str(i) / "plots" / "layers.png", img)
    page = tmp_path / "t.html"
    assert cli([str(sweep), "--sort", "seed", "--out", str(page)]) == 0
    cell = r"<tr>\n<td data-v='layers.png'><a href='s/(\d+)/plots/layers.png'>"
    rows = re.findall(cell + r"<img [^>]*src='data:image/png;base64,([^']+)'>", page.read_text())
    assert [int(job) for job, _ in rows] == list(range(12))
    for job, uri in rows:
        with Image.open(io.BytesIO(base64.b64decode(uri))) as img:
            level = np.asarray(img.convert("L"), dtype=float).mean()
        assert abs(level - 255 * int(job) / 12) < 3


def _rows(page_text: str) -> list[str]:
    """The table body's rows, each its cells' HTML."""
    body = page_text.split("<tbody>", 1)[1]
    return re.findall(r"<tr>\n(.*?)\n</tr>", body, re.S)


def _png(path: Path, size=(60, 80), level=0.5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, np.full((*size, 3), level))
    return path


def test_the_page_is_one_file_with_its_figures_inlined(tmp_path):
    fig = _png(tmp_path / "figs" / "summary.png")
    shown = pd.DataFrame({"hidden_units": ["[8]", "<b>"], "val_mse": ["0.05", ""]})
    page = tmp_path / "out" / "report.html"
    size = write_report(page, shown, "2 runs & more", figures=[fig, tmp_path / "gone.png"],
                        title="a <sweep>")  # fmt: skip
    text = page.read_text()
    assert size == len(page.read_bytes())
    assert "<title>a &lt;sweep&gt;</title>" in text and "<h1>a &lt;sweep&gt;</h1>" in text
    (uri,) = re.findall(
        r"<img class='figure' alt='summary.png' src='data:image/png;base64,([^']+)'", text
    )
    assert base64.b64decode(uri) == fig.read_bytes()  # the figure itself, inlined
    assert "gone.png" not in text  # a figure that cannot be read is left out
    assert "<p>2 runs &amp; more; click a column header to sort</p>" in text
    assert "<th>figure</th>" not in text  # no run folders: no thumbnail column


def test_cells_are_escaped_and_numbers_marked_for_sorting(tmp_path):
    shown = pd.DataFrame({"k": ["[8]", "<b>x</b>"], "v": ["0.05", ""], "n": ["1e-05", "7"]})
    write_report(tmp_path / "r.html", shown, "c")
    text = (tmp_path / "r.html").read_text()
    rows = _rows(text)
    assert rows[0] == "<td class='text'>[8]</td>\n<td>0.05</td>\n<td>1e-05</td>"
    assert (
        rows[1] == "<td class='text'>&lt;b&gt;x&lt;/b&gt;</td>\n<td class='text'></td>\n<td>7</td>"
    )
    assert re.findall(r"<th>([^<]*)</th>", text) == ["k", "v", "n"]


def test_a_run_without_a_figure_gets_an_empty_thumbnail_cell(tmp_path):
    with_fig = make_run(tmp_path / "a b", plot=True)  # a space in the folder's name
    without = make_run(tmp_path / "c")
    page = tmp_path / "pages" / "r.html"
    write_report(page, pd.DataFrame({"x": ["1", "2"]}), "c", [str(with_fig), str(without)])
    text = page.read_text()
    rows = _rows(text)
    (href,) = re.findall(r"href='([^']+)'", rows[0])
    assert href == "../a%20b/plots/layers.png"  # relative to the page, URL-quoted
    assert (page.parent / unquote(href)).resolve() == (with_fig / "plots" / "layers.png").resolve()
    assert rows[1].startswith("<td data-v=''></td>")
    assert "<th>figure</th>" in text


def test_a_thumbnail_fits_its_box_keeping_the_aspect_ratio(tmp_path):
    wide = _png(tmp_path / "wide.png", size=(300, 800))
    with Image.open(io.BytesIO(thumbnail(wide))) as img:
        assert img.size == (120, 45) and img.mode == "P"
    tall = _png(tmp_path / "tall.png", size=(600, 100))
    with Image.open(io.BytesIO(thumbnail(tall))) as img:
        assert img.size == (15, 90)
    (tmp_path / "text.png").write_text("not a picture")
    assert thumbnail(tmp_path / "text.png") is None
    assert thumbnail(tmp_path / "missing.png") is None


def test_the_best_run_opens_the_page_before_the_figures(tmp_path):
    run = make_run(tmp_path / "sweep" / "3", plot=True)
    fig = _png(tmp_path / "sweep" / "curves.png")
    facts = [("penalty.lam", "0.001"), ("note", "<b>")]
    title = "best run: job 3, val_mse 0.01 (minimized)"
    best = Highlight(title, run, facts, run / "plots" / "layers.png")
    page = tmp_path / "sweep" / "report.html"
    write_report(page, pd.DataFrame({"x": ["1"]}), "c", [str(run)], [fig], best=best)
    text = page.read_text()
    assert text.index("<section class='best'>") < text.index("<div class='figures'>")
    assert text.index("<div class='figures'>") < text.index("<table class='runs'>")
    assert "<h2>best run: job 3, val_mse 0.01 (minimized)</h2>" in text
    assert "href='3/'>3/</a>" in text  # its folder, relative to the page
    assert "<tr><th>note</th><td>&lt;b&gt;</td></tr>" in text
    assert "<a href='3/plots/layers.png'><img class='best'" in text
    assert "<a href='curves.png'><img class='figure' alt='curves.png'" in text
