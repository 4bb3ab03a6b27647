"""One HTML page for runs and sweeps: the sweep's figures, a sortable table, and a thumbnail
of each run's main figure linked to the full image beside it.

The page is one file: figures and thumbnails are inlined as small PNGs (a 200-pixel
thumbnail is ~5 kB, so a 128-job sweep stays well under 2 MB); the full-size figures stay
in the run folders and are linked by relative paths. Sorting is a few lines of script:
click a column header, click again to reverse.
"""

from __future__ import annotations

import base64
import html
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from PIL import Image

from regexp.runs.layout import RunDir, write_atomic

THUMB_PX = (200, 150)  # the thumbnail's box: the figure's aspect ratio is kept

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-top:1em}
td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:right}
th{background:#f3f3f3;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.text{text-align:left}
img.thumb{display:block;height:auto;border:0}
img.figure{max-width:100%;border:1px solid #eee}
"""

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
            small.save(buf, format="png")  # optimize=True: 7 % smaller, twice the time
            return buf.getvalue()
    except OSError:
        return None


def _href(target: Path, page: Path) -> str:
    rel = os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)
    return quote(Path(rel).as_posix())


def _cell(value: str) -> str:
    text = html.escape(value)
    numeric = value != "" and _is_number(value)
    return f"<td>{text}</td>" if numeric else f"<td class='text'>{text}</td>"


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
) -> int:
    """Write the page; return its size in bytes.

    shown: the table as text cells (one row per run when run_dirs is given, in the same
    order: each row then gets a thumbnail of its main figure). figures: PNGs shown in
    full at the top (a sweep's summary.png), inlined.
    """
    page = Path(page)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for fig in figures or []:
        try:
            data = Path(fig).read_bytes()
        except OSError:
            continue
        name = html.escape(Path(fig).name)
        parts.append(f"<h2>{name}</h2><img class='figure' alt='{name}' src='{_data_uri(data)}'>")
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


def _thumb_cells(run_dirs: list[str], page: Path) -> list[str]:
    """_thumb_cell of each run, in threads: PIL lets go of the GIL while it decodes,
    resamples and encodes (a 128-job sweep's thumbnails: 6-7 ms each, ~3.7 ms in 2 threads
    on 2 cores)."""
    if len(run_dirs) < 8:
        return [_thumb_cell(d, page) for d in run_dirs]
    with ThreadPoolExecutor(min(4, len(os.sched_getaffinity(0)))) as pool:
        return list(pool.map(_thumb_cell, run_dirs, [page] * len(run_dirs)))


def _thumb_cell(run_dir: str, page: Path) -> str:
    fig = RunDir(run_dir).main_figure()
    small = thumbnail(fig) if fig is not None else None
    if small is None:
        return "<td data-v=''></td>"
    alt = html.escape(f"{Path(run_dir).name}/{fig.name}")
    img = f"<img class='thumb' alt='{alt}' title='{alt}' src='{_data_uri(small)}'>"
    return f"<td data-v='{html.escape(fig.name)}'><a href='{_href(fig, page)}'>{img}</a></td>"
