"""One HTML page for runs and sweeps: the best run first (a sweep's), the sweep's figures, a
sortable table, and a thumbnail of each run's main figure linked to the full image beside it.

The page is one file: figures and thumbnails are inlined as small PNGs (a 120-pixel
thumbnail is a few kB, so a 128-job sweep stays well under 2 MB); the full-size figures stay
in the run and sweep folders and are linked by relative paths. Rows are one line each, with
a thumbnail 72 pixels high, so a screen shows a dozen runs or more. Sorting is a few lines
of script: click a column header, click again to reverse.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from PIL import Image

from regexp.runs.layout import RunDir, write_atomic
from regexp.system.pools import thread_map

THUMB_PX = (120, 90)  # the thumbnail's box: the figure's aspect ratio is kept
BEST_PX = 520  # the width the best run's figure is shown at

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-top:1em}
td,th{border:1px solid #ccc;padding:1px 6px;font-size:13px;text-align:right;white-space:nowrap}
th{background:#f3f3f3;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.text{text-align:left;max-width:28em;overflow:hidden;text-overflow:ellipsis}
img.thumb{display:block;height:72px;width:auto;border:0}
section.best{display:flex;gap:2em;align-items:flex-start;padding:0.8em 1em;
  background:#f6faf4;border:1px solid #cfe3c4;border-radius:4px}
section.best h2{margin:0 0 0.4em 0}
table.facts{margin-top:0.4em}
table.facts td,table.facts th{cursor:auto;position:static;background:none;text-align:left}
img.best{width:BEST_PXpx;max-width:45vw;border:1px solid #ddd}
div.figures{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
div.figures figure{margin:0;max-width:100%}
figcaption{font-size:13px;color:#555}
img.figure{max-width:100%;border:1px solid #eee}
""".replace("BEST_PX", str(BEST_PX))


@dataclass(frozen=True)
class Highlight:
    """The run a page opens with: a sweep's best run."""

    title: str  # "best run: job 3, val_mse 0.0123 (minimize)"
    folder: Path
    facts: list[tuple[str, str]]  # (name, value): its study keys, then its metrics
    figure: Path | None  # its main figure


# Numbers sort as numbers, anything else as text; empty cells last either way.
_SCRIPT = """
document.querySelectorAll("table.runs th").forEach((th, col) => {
  th.addEventListener("click", () => {
    const table = th.closest("table"), body = table.tBodies[0];
    const down = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("th").forEach(h => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    const key = r => r.cells[col].dataset.v ?? r.cells[col].textContent.trim();
    const rows = Array.from(body.rows);
    const numeric = rows.every(r => key(r) === "" || !isNaN(Number(key(r))));
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === "" || y === "") return (x === "") - (y === "");
      const c = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, {numeric: true});
      return down ? -c : c;
    });
    rows.forEach(r => body.appendChild(r));
  });
});
"""


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thumbnail(png: Path) -> bytes | None:
    """A small palette PNG of png, or None when it cannot be read."""
    try:
        with Image.open(png) as img:
            img = img.convert("RGB")
            img.thumbnail(THUMB_PX, Image.Resampling.LANCZOS)
            small = img.quantize(128, method=Image.Quantize.FASTOCTREE)
            buf = io.BytesIO()
            small.save(buf, format="png")  # not optimize=True: a little smaller, much slower
            return buf.getvalue()
    except OSError:
        return None


def _href(target: Path, page: Path) -> str:
    rel = os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)
    return quote(Path(rel).as_posix())


def _cell(value: str) -> str:
    text = html.escape(value)
    numeric = value != "" and _is_number(value)
    if numeric:
        return f"<td>{text}</td>"
    hint = f" title='{text}'" if len(value) > 40 else ""  # cut at the cell's width: all of it
    return f"<td class='text'{hint}>{text}</td>"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_report(
    page: Path,
    shown: pd.DataFrame,
    caption: str,
    run_dirs: list[str] | None = None,
    figures: list[Path] | None = None,
    title: str = "regexp report",
    best: Highlight | None = None,
) -> int:
    """Write the page; return its size in bytes.

    shown: the table as text cells (one row per run when run_dirs is given, in the same
    order: each row then gets a thumbnail of its main figure). figures: PNGs shown in
    full (a sweep's summary.png, curves.png, ...), inlined and linked to their files. best:
    the run the page opens with.
    """
    page = Path(page)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if best is not None:
        parts.append(_best_section(best, page))
    shown_figures = [_figure(Path(fig), page) for fig in figures or []]
    if any(shown_figures):
        parts.append("<div class='figures'>" + "".join(filter(None, shown_figures)) + "</div>")
    parts.append(f"<p>{html.escape(caption)}; click a column header to sort</p>")
    parts.append("<table class='runs'><thead><tr>")
    with_thumbs = run_dirs is not None
    if with_thumbs:
        parts.append("<th>figure</th>")
    parts += [f"<th>{html.escape(str(c))}</th>" for c in shown.columns]
    parts.append("</tr></thead><tbody>")
    thumbs = _thumb_cells(run_dirs, page) if run_dirs is not None else []
    for i, row in enumerate(shown.itertuples(index=False)):
        parts.append("<tr>")
        if with_thumbs:
            parts.append(thumbs[i])
        parts += [_cell(str(v)) for v in row]
        parts.append("</tr>")
    parts.append(f"</tbody></table><script>{_SCRIPT}</script></body></html>")
    text = "\n".join(parts)
    write_atomic(page, text)
    return len(text.encode())


def _figure(fig: Path, page: Path) -> str:
    """A figure inlined, linked to its file, with its name below; "" when unreadable."""
    try:
        data = fig.read_bytes()
    except OSError:
        return ""
    name = html.escape(fig.name)
    img = f"<img class='figure' alt='{name}' src='{_data_uri(data)}'>"
    return f"<figure><a href='{_href(fig, page)}'>{img}</a><figcaption>{name}</figcaption></figure>"


def _best_section(best: Highlight, page: Path) -> str:
    """The best run: its title, a link to its folder, its facts, and its main figure."""
    folder = html.escape(best.folder.name + "/")
    link = f"<a class='best-folder' href='{_href(best.folder, page)}/'>{folder}</a>"
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in best.facts
    )
    text = (f"<div><h2>{html.escape(best.title)}</h2><p>folder: {link}</p>"
            f"<table class='facts'>{rows}</table></div>")  # fmt: skip
    image = ""
    if best.figure is not None:
        try:
            data = best.figure.read_bytes()
        except OSError:
            data = None
        if data is not None:
            alt = html.escape(f"best run: {best.figure.name}")
            img = f"<img class='best' alt='{alt}' src='{_data_uri(data)}'>"
            image = f"<a href='{_href(best.figure, page)}'>{img}</a>"
    return f"<section class='best'>{text}{image}</section>"


def _thumb_cells(run_dirs: list[str], page: Path) -> list[str]:
    """_thumb_cell of each run, in threads: PIL lets go of the GIL while it decodes,
    resamples and encodes."""
    return thread_map(functools.partial(_thumb_cell, page=page), run_dirs)


def _thumb_cell(run_dir: str, page: Path) -> str:
    fig = RunDir(run_dir).main_figure()
    small = thumbnail(fig) if fig is not None else None
    if small is None:
        return "<td data-v=''></td>"
    alt = html.escape(f"{Path(run_dir).name}/{fig.name}")
    img = f"<img class='thumb' alt='{alt}' title='{alt}' src='{_data_uri(small)}'>"
    return f"<td data-v='{html.escape(fig.name)}'><a href='{_href(fig, page)}'>{img}</a></td>"
