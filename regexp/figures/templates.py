"""Figure templates: build a matplotlib figure once per process and shape, then update it.

Building a Figure with its axes, ticks and legends costs more than drawing it, drawing
text costs most of a draw, and zlib's default level costs as much again; a sweep draws
three figures per job. So a figure kind builds its Template once per key (its shape:
panels, number of lines), and each call updates the artists' data, limits and titles.
What never changes (frames, legends, facet labels) is drawn once and kept as pixels; each
call restores them and draws only the artists marked dynamic (data, axes, titles) on the
Agg canvas. The pixels go to a 256-colour PNG at zlib level 1 (PIL): a third of the size
of matplotlib's RGBA PNG and written four times faster. The palette is made from the
artists' colours (greys, and each colour faded toward white): mapping pixels to a given
palette is five times faster than finding one per picture. Fixed margins in inches
replace a layout engine.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator
from PIL import Image, PngImagePlugin

from regexp.system.files import write_atomic

DPI = 100
PNG_COMPRESSION = 1  # zlib level: on 256 colours as small as level 6, and faster
# palette entries for black to white (text, frames, grey points): on the corners of PIL's
# 4-level lookup cells, and white alone above 248 (see _with_greys)
GREY_LEVELS = np.r_[np.arange(0, 249, 4), 255]
GREYS = len(GREY_LEVELS)
MAX_TEMPLATES = 32  # per process; a sweep uses a handful of shapes

_templates: dict[Hashable, Template] = {}
_lock = threading.Lock()  # one figure is one set of artists: one thread at a time


class Template:
    """A Figure on its own Agg canvas, plus whatever artists its builder keeps on it."""

    def __init__(self, size: tuple[float, float]):
        self.fig = Figure(figsize=size, dpi=DPI)
        FigureCanvasAgg(self.fig)
        self._dynamic: list[Any] = []
        self._background: Any = None
        self._axis_seen: dict[int, tuple] = {}  # id(axis) -> its limits at the last render
        self._axis_moved: set[int] = set()  # axes whose limits changed once: dynamic for good
        self._palette: tuple[bytes, Image.Image] | None = None  # (colours, palette)

    def dynamic(self, *artists: Any) -> None:
        """Artists redrawn on every call, in this order, over the kept static pixels."""
        for a in artists:
            a.set_animated(True)
            self._dynamic.append(a)

    def set_static_text(self, text: Any, value: str) -> None:
        """Set a text kept in the static layer; the layer is redrawn only when it changes."""
        if text.get_text() != value:
            text.set_text(value)
            self._background = None

    def axes_labels(self, ax: Any, xlabel: str = "", ylabel: str = "", nbins: int = 5) -> None:
        """Axis labels in the static layer at fixed places, and at most nbins + 1 ticks on
        linear axes: tick labels are most of what is drawn on every call, and Axis labels
        would lay the tick labels out twice per draw to place themselves."""
        w, h = ax.figure.get_size_inches() * ax.get_position().size  # the axes, inches
        size = matplotlib.rcParams["axes.labelsize"]
        if xlabel:
            ax.text(0.5, -0.3 / h, xlabel, transform=ax.transAxes, ha="center", va="top",
                    fontsize=size)  # fmt: skip
        if ylabel:
            ax.text(-0.62 / w, 0.5, ylabel, transform=ax.transAxes, ha="center", va="center",
                    rotation=90, fontsize=size)  # fmt: skip
        # Fixed places for the (empty) Axis labels too: placing them measures every tick
        # label of the axis and its siblings again on each draw.
        ax.xaxis.set_label_coords(0.5, 0.0)
        ax.yaxis.set_label_coords(0.0, 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins))
        if ax.get_yscale() == "linear":
            ax.yaxis.set_major_locator(MaxNLocator(nbins))

    def forget(self, artist: Any) -> None:
        """A dynamic artist that was removed from the figure."""
        self._dynamic.remove(artist)

    def _steady_axes(self) -> list[Any]:
        """An axis whose limits did not change since the last render moves into the static
        layer (its tick labels are most of a draw: a sweep's runs share their x range); back
        to dynamic, for good, the first time they change. The pixels are the same either way:
        axes are drawn under the data in both layers. Returns the axes that just moved in."""
        joined = []
        for a in [a for a in self._dynamic if isinstance(a, Axis)] + self._steadied():
            key = id(a)
            state = (tuple(a.get_view_interval()), a.get_scale(), id(a.get_major_locator()))
            seen = self._axis_seen.get(key)
            self._axis_seen[key] = state
            if a.get_animated() and seen == state and key not in self._axis_moved:
                a.set_animated(False)
                self._dynamic.remove(a)
                joined.append(a)
            elif not a.get_animated() and seen != state:
                a.set_animated(True)
                self._dynamic.insert(0, a)  # axes first: under the data, as when steady
                self._axis_moved.add(key)
                self._background = None
        return joined

    def _steadied(self) -> list[Any]:
        return [
            a
            for ax in self.fig.axes
            for a in (ax.xaxis, ax.yaxis)
            if id(a) in self._axis_seen and not a.get_animated()
        ]

    def render(self) -> np.ndarray:
        """The figure's RGBA pixels: the static layer (drawn once), then the dynamic artists."""
        joined = self._steady_axes()
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()  # skips animated artists: the static layer only
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
            if joined:  # drawn over the kept pixels, first, as when they were dynamic: the
                renderer = canvas.get_renderer()  # same pixels as a whole new static layer
                for a in joined:
                    a.draw(renderer)
                self._background = canvas.copy_from_bbox(self.fig.bbox)
        renderer = canvas.get_renderer()
        for a in self._dynamic:
            if a.get_visible():
                a.draw(renderer)
        return np.asarray(canvas.buffer_rgba())

    def to_palette(self, rgb: Image.Image) -> Image.Image:
        """rgb in 256 colours. A plot is a few flat colours over white and their
        antialiased edges: greys (text, frames), each dynamic artist's colour faded toward
        white in even steps, and mixes of two colours (where curves cross) hold them. The
        palette depends on nothing but the colours, so a picture is the same bytes
        whichever template drew it. An image (a continuous colormap), or too many colours
        for steps of 1/4, gets an octree of its own."""
        colours = self._colours()
        image = any(isinstance(a, AxesImage) for a in self._dynamic)
        if image or len(colours) > (256 - GREYS) // 4:
            return octree(rgb)
        key = colours.tobytes()
        if self._palette is None or self._palette[0] != key:
            self._palette = (key, _palette_of(colours.astype(float)))
        return rgb.quantize(palette=self._palette[1], dither=Image.Dither.NONE)

    def _colours(self) -> np.ndarray:
        """[n, 3] uint8: the distinct colours of the dynamic artists as drawn over white."""
        found = []
        for a in self._dynamic:
            if isinstance(a, Axis):
                continue
            for getter in ("get_color", "get_facecolor", "get_edgecolor", "get_markerfacecolor"):
                try:
                    rgba = to_rgba_array(getattr(a, getter)())
                except (AttributeError, TypeError, ValueError):
                    continue
                if a.get_alpha() is not None:
                    rgba[:, 3] = a.get_alpha()
                found.append(255 * (1 - rgba[:, 3:] * (1 - rgba[:, :3])))
        rgb = np.round(np.concatenate(found or [np.zeros((0, 3))])).astype(np.uint8)
        rgb = rgb[np.ptp(rgb.astype(int), axis=1) > 0]  # greys are in the palette already
        return np.unique(rgb, axis=0)

    def margins(self, left: float, right: float, bottom: float, top: float, **space: float):
        """Fixed margins in inches (a layout engine per draw would double its time)."""
        w, h = self.fig.get_size_inches()
        self.fig.subplots_adjust(
            left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, **space
        )

    def __getattr__(self, name: str) -> Any:  # artists are set by each figure's builder
        raise AttributeError(name)


def _palette_of(colours: np.ndarray) -> Image.Image:
    """A "P" image whose palette is GREYS greys, colours ([n, 3], 0-255, drawn over white)
    faded in even steps, then mixes of two colours, up to 256 entries."""
    n = len(colours)
    steps = max(4, min(16, 128 // max(n, 1)))
    strength = np.arange(1, steps + 1)[:, None, None] / steps
    faded = (255 - strength * (255 - colours[None])).reshape(-1, 3)
    i, j = np.triu_indices(n, k=1)
    mixes = [t * colours[i] + (1 - t) * colours[j] for t in (0.5, 0.25, 0.75)]
    return _with_greys(np.concatenate([faded, *mixes]))


def _with_greys(colours: np.ndarray) -> Image.Image:
    """A "P" image whose palette is GREYS greys, then colours ([n, 3]), up to 256 entries.
    PIL maps a pixel by its 4-level cell's low corner (r & ~3): greys on those corners,
    white alone above 248, and no colour nearer white's corner than white, keep the
    background exact and greys (text, faint points) within 3 levels."""
    greys = np.repeat(GREY_LEVELS, 3).reshape(-1, 3)
    colours = colours[((colours - 252) ** 2).sum(axis=1) > 27]
    entries = np.concatenate([greys, colours])[:256]
    palette = Image.new("P", (1, 1))
    palette.putpalette(np.round(entries).astype(np.uint8).ravel().tolist())
    return palette


@contextmanager
def template(key: tuple, build: Callable[..., Template]) -> Iterator[Template]:
    """The template for key (built by build(*key[1:]) on first use), held for one update.
    A template whose update raised is dropped: its artists may be half updated."""
    with _lock:
        t = _templates.get(key)
        if t is None:
            if len(_templates) >= MAX_TEMPLATES:
                _templates.pop(next(iter(_templates)))
            t = _templates[key] = build(*key[1:])
        try:
            yield t
        except BaseException:
            _templates.pop(key, None)
            raise


def clear_templates() -> None:
    """Forget every template (tests; a long-lived process that is done drawing)."""
    with _lock:
        _templates.clear()


def save_png(t: Template, path: Path | str, title: str) -> None:
    """Render the template and write it as a 256-colour PNG with a "Title" text chunk,
    atomically (a temp file renamed over the target)."""
    _write_png(t.render(), path, {"Title": title}, t.to_palette)


def save_figure(fig: Figure, path: Path | str, **text: str) -> None:
    """Draw a one-off figure on an Agg canvas and write it as a 256-colour PNG (octree())
    with text chunks (Title=..., Description=...), atomically."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    _write_png(np.asarray(canvas.buffer_rgba()), path, text, octree)


def octree(rgb: Image.Image) -> Image.Image:
    """rgb in 256 colours for a picture of many colours: the greys of every palette here,
    and an octree of the picture's colours for the rest (an octree alone buckets faint grey
    points and white coarsely: square dots, a page of 254)."""
    tree = rgb.quantize(256 - GREYS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    colours = np.asarray(tree.getpalette() or [], dtype=float).reshape(-1, 3)
    return rgb.quantize(palette=_with_greys(colours), dither=Image.Dither.NONE)


def _write_png(
    rgba: np.ndarray, path: Path | str, text: dict[str, str], quantize: Callable
) -> None:
    h, w = rgba.shape[:2]
    img = quantize(Image.frombuffer("RGBA", (w, h), rgba, "raw", "RGBA", 0, 1).convert("RGB"))
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=PNG_COMPRESSION, pnginfo=info)
    write_atomic(Path(path), buf.getvalue())


def fit_limits(
    ax: Any, xs: Sequence[Any], ys: Sequence[Any], log: bool = False, pad: float = 0.05
) -> None:
    """Set ax's limits to the finite data with a margin (what autoscale does, for
    artists that relim ignores, and cheaper); a log axis pads in log space and picks
    tick positions that stay readable over many decades."""
    for values, setter in ((xs, ax.set_xlim), (ys, ax.set_ylim)):
        flat = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values] or [[]])
        flat = flat[np.isfinite(flat)]
        is_y_log = log and setter == ax.set_ylim
        if is_y_log:
            flat = np.log10(flat[flat > 0])
        if flat.size == 0:
            continue
        lo, hi = float(flat.min()), float(flat.max())
        span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.5
        lo, hi = lo - pad * span, hi + pad * span
        if is_y_log:
            subs = (1.0, 2.0, 5.0) if hi - lo < 1.5 else (1.0,) if hi - lo < 6 else None
            ax.yaxis.set_major_locator(LogLocator(subs=subs or (1.0,), numticks=6 if subs else 4))
            lo, hi = 10**lo, 10**hi
        setter(lo, hi)


def plain_log_axis(ax: Any, which: str = "y") -> None:
    """A log axis (y, or x) labelled 0.04, 0.1, 1e-05 (mathtext labels are wide and slow)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    subs = (1.0, 2.0, 5.0)  # a tick within any range
    lo, hi = ax.dataLim.intervalx if which == "x" else (1.0, 1.0)
    if 0 < lo and hi > 100 * lo:  # x labels are side by side: over two decades, decades
        subs = (1.0,)
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_locator(NullLocator())  # unlabelled minor ticks: 3 artists each a draw


def unit_colors(n: int) -> np.ndarray:
    """n RGBA colours: distinct up to 64 (tab10, tab20, then tab20 + tab20b + tab20c and
    Dark2), evenly spaced along a colormap beyond that."""
    cm = matplotlib.colormaps
    if n <= 10:
        return cm["tab10"](np.arange(n))
    if n <= 20:
        return cm["tab20"](np.arange(n))
    if n <= 64:
        palette = [cm[name](np.arange(20)) for name in ("tab20", "tab20b", "tab20c")]
        palette.append(cm["Dark2"](np.arange(4)))
        return np.concatenate(palette)[:n]
    return cm["turbo"](np.linspace(0.05, 0.95, n))
