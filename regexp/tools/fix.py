"""`regexp fix`: the notebook's "How can we fix up that last model?", answered by shrinking the
first-layer units whose change point lies in an interval.

For a model whose layer input is one number x, hidden unit j computes act(w_j x + b_j), which
bends at its change point x = −b_j / w_j. Units bending inside an interval make the wiggles
there; multiplying their weights by a small `scale` flattens them (biases are kept):

    regexp fix RUN_DIR layer=0 interval=[0.5,1.0] scale=0.1

writes a new folder under outputs/fix/ with the fixed weights, metrics before and after,
and plots, pointing back at its source run.
"""

from __future__ import annotations

import copy
import io
import math
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from matplotlib.figure import Figure

from regexp.config.errors import UsageError
from regexp.config.output import ROOT_ENV, claim_dir, output_root
from regexp.config.settings import input_dim, n_params
from regexp.figures import draw as plots
from regexp.runs.layout import WEIGHTS, RunDir, write_atomic
from regexp.runs.weights import load_run, save_weights
from regexp.train.engine import final_metrics
from regexp.train.loss import PenaltyTable

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_INTERVAL = re.compile(rf"^\s*\[?\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]?\s*$")


@dataclass(frozen=True)
class Fix:
    layer: int = 0
    interval: tuple[float, float] = (0.5, 1.0)
    scale: float = 0.1


def parse_fix(tokens: list[str]) -> Fix:
    """key=value tokens (layer, interval, scale) over the notebook's defaults."""
    values: dict = {}
    for token in tokens:
        key, sep, text = token.partition("=")
        if not sep:
            raise UsageError(f"expected KEY=VALUE, got {token!r} (keys: layer, interval, scale)")
        key = key.strip()
        try:
            if key == "layer":
                values[key] = int(text)
            elif key == "scale":
                values[key] = float(text)
            elif key == "interval":
                match = _INTERVAL.match(text)
                if not match:
                    raise ValueError
                values[key] = (float(match.group(1)), float(match.group(2)))
            else:
                raise UsageError(f"unknown key {key!r} (keys: layer, interval, scale)")
        except ValueError:
            example = {"layer": "0", "scale": "0.1", "interval": "[0.5,1.0]"}.get(key)
            raise UsageError(f"{key}={text!r} is not valid (e.g. {key}={example})") from None
    fix = Fix(**values)
    lo, hi = fix.interval
    if not all(math.isfinite(v) for v in (lo, hi, fix.scale)):
        raise UsageError(f"interval and scale must be finite numbers, got {tokens}")
    if lo > hi:
        raise UsageError(f"interval=[{lo:g},{hi:g}] is empty: its lower end exceeds the upper")
    return fix


def change_points(model, layer: int) -> torch.Tensor:
    """−b / w of each unit of hidden layer `layer`, whose input must be 1-D.

    A unit with w = 0 never bends (±inf or NaN here) and so is never in an interval.
    """
    n_hidden = len(model.layers) - 1
    if not 0 <= layer < n_hidden:
        raise UsageError(
            f"layer={layer} does not exist: the model has {n_hidden} hidden layer(s)"
            + (f" (layer=0..{n_hidden - 1})" if n_hidden else "")
        )
    linear = model.layers[layer]
    if linear.in_features != 1:
        what = "the model's input" if layer == 0 else f"the output of layer {layer - 1}"
        raise UsageError(
            f"change points -b/w need a 1-D input to layer {layer}, but {what} has "
            f"{linear.in_features} dimensions"
        )
    with torch.no_grad():
        return -linear.bias / linear.weight[:, 0]


def apply_fix(model, fix: Fix) -> dict:
    """Scale, in place, the weights of the units whose change point lies in fix.interval."""
    points = change_points(model, fix.layer)
    lo, hi = fix.interval
    chosen = torch.nonzero((points >= lo) & (points <= hi)).flatten()
    if chosen.numel() == 0:
        finite = points[torch.isfinite(points)]
        seen = (
            f"they range over [{finite.min().item():.3g}, {finite.max().item():.3g}]"
            if finite.numel()
            else "none is finite"
        )
        raise UsageError(
            f"no unit of layer {fix.layer} has its change point in [{lo:g}, {hi:g}] "
            f"({len(points)} units; {seen})"
        )
    with torch.no_grad():
        model.layers[fix.layer].weight[chosen] *= fix.scale
    return {
        "units": chosen.tolist(),
        "change_points": points[chosen].tolist(),
        "n_units": len(points),
    }


def _metrics(model, data, settings) -> dict:

    table = PenaltyTable.of([settings.penalty], len(model.layers), torch.device("cpu"))
    return final_metrics(model.stacked(), data, settings.activation, table)[0]


def fix_run(run_dir: Path | str, fix: Fix, parent: Path | str | None = None) -> tuple[Path, dict]:
    """Write the fixed copy of a run into a new folder; returns (folder, its metrics)."""

    run_dir = Path(run_dir)
    source = RunDir(run_dir)
    if not source.has_weights() or not source.hydra_dir.is_dir():
        raise UsageError(f"{run_dir} is not a finished run folder (no {WEIGHTS} or .hydra/)")
    settings, model, data = load_run(run_dir)
    if data.n_in != 1:
        raise UsageError(
            f"fix needs a model of a 1-D input; {run_dir} has {data.n_in} input features"
        )
    before = _metrics(model, data, settings)
    original = copy.deepcopy(model)
    info = apply_fix(model, fix)  # raises before any folder is made
    after = _metrics(model, data, settings)

    out = claim_dir(parent if parent is not None else output_root() / "fix", flag=ROOT_ENV)
    fixed = RunDir(out)
    shutil.copytree(source.hydra_dir, fixed.hydra_dir)  # so load_run and compare read it
    save_weights(fixed.weights_file, model)
    source_metrics = source.metrics() if source.metrics_file.is_file() else {}
    metrics = {
        "status": "ok",
        "name": f"{settings.name}+fix",
        **after,
        "n_params": n_params([input_dim(settings.data), *settings.hidden_units, 1]),
        "seed": settings.seed,
        "device": "cpu",
        "epochs": source_metrics.get("epochs"),
        "source": str(run_dir.resolve()),
        "fix": {**asdict(fix), "interval": list(fix.interval), **info},
        "before": before,
    }
    _plot(out / "plots", model, original, data, settings, fix, info)
    fixed.write_metrics(metrics)  # last: its presence marks the folder done
    return out, metrics


def _plot(folder: Path, model, original, data, settings, fix: Fix, info: dict) -> None:
    """layers.png with the fixed layer's units, layers_no_hidden.png without them, and
    before_after.png: the fitted function before and after, the interval shaded."""
    folder.mkdir(parents=True, exist_ok=True)
    lo = min(data.x_train.min().item(), data.x_val.min().item(), fix.interval[0])
    hi = max(data.x_train.max().item(), data.x_val.max().item(), fix.interval[1])
    grid = torch.linspace(lo, hi, 400).unsqueeze(1)
    with torch.no_grad():
        y_after = model(grid)
        hidden = model.hidden_outputs(grid)[fix.layer].numpy()
        y_before = original(grid)
    if data.task == "classification":
        y_after, y_before = torch.sigmoid(y_after), torch.sigmoid(y_before)
    x_train, y_train = data.x_train[:, 0].numpy(), data.y_train[:, 0].numpy()
    xg, ya, yb = grid[:, 0].numpy(), y_after[:, 0].numpy(), y_before[:, 0].numpy()
    title = (
        f"{settings.name} fixed: layer {fix.layer}, {len(info['units'])} units in "
        f"[{fix.interval[0]:g}, {fix.interval[1]:g}] scaled by {fix.scale:g}"
    )
    legend = hidden.shape[1] <= plots.LEGEND_MAX_UNITS
    plots.plot_layers(folder / "layers.png", x_train, y_train, xg, ya, hidden, legend, title)
    plots.plot_layers(folder / "layers_no_hidden.png", x_train, y_train, xg, ya, None, False, title)

    fig = Figure(figsize=(7, 4.5), dpi=plots.DPI)
    ax = fig.add_subplot()
    ax.axvspan(*fix.interval, color="C1", alpha=0.12, label="interval")
    ax.scatter(x_train, y_train, s=14, color="0.25", label="training data", zorder=3)
    ax.plot(xg, yb, color="0.5", lw=1.5, ls="--", label="before")
    ax.plot(xg, ya, color="C3", lw=2, label="after")
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.title.set_fontsize(9)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomic(folder / "before_after.png", buf.getvalue())


def cli(argv: list[str]) -> int:
    """`regexp fix RUN_DIR [layer=0] [interval=[0.5,1.0]] [scale=0.1]`."""
    usage = "usage: regexp fix RUN_DIR [layer=0] [interval=[0.5,1.0]] [scale=0.1]"
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1].replace("\n", " "))
        print(f"\n{usage}")
        return 0
    if not argv or "=" in argv[0]:
        raise UsageError(f"fix needs a run folder first; {usage}")
    fix = parse_fix(argv[1:])
    out, metrics = fix_run(Path(argv[0]), fix)
    before = metrics["before"]
    print(f"fixed {len(metrics['fix']['units'])} of {metrics['fix']['n_units']} units of layer "
          f"{fix.layer}: weights x {fix.scale:g} where -b/w is in "
          f"[{fix.interval[0]:g}, {fix.interval[1]:g}]")  # fmt: skip
    for split in ("train", "val"):
        print(f"{split}_mse  before {before[f'{split}_mse']:.6g}  "
              f"after {metrics[f'{split}_mse']:.6g}")  # fmt: skip
    print(out)
    return 0
