"""Exponentially weighted moving averages, as in the EWMA article (seed 002).

v_t = beta * v_{t-1} + (1 - beta) * theta_t with v_0 = 0 averages roughly the last
1 / (1 - beta) points; dividing by (1 - beta^t) removes the pull towards 0 at the start.
`ewma` (in regexp.train.update, beside the optimizer's EWMA) is the same debiased smoothing
as TensorBoard's slider; `cli` draws the article's figure (`regexp ewma`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from regexp.config.output import claim_dir, output_root
from regexp.config.size import check_series
from regexp.system.flags import ArgumentParser, number
from regexp.train.update import ewma, window  # the smoothing, written once beside the update

ARTICLE_BETAS = (0.5, 0.9, 0.98)


def noisy_year(seed: int = 0, days: int = 365, noise: float = 4.0) -> np.ndarray:
    """Daily temperatures over a year: a seasonal curve plus Gaussian noise (°C)."""
    rng = np.random.default_rng(seed)
    day = np.arange(1, days + 1)
    season = 20.0 - 8.0 * np.cos(2 * np.pi * (day - 15) / 365.0)
    return season + noise * rng.standard_normal(days)


def article_table(theta: np.ndarray, betas: tuple[float, ...] = ARTICLE_BETAS):
    """A DataFrame: day, theta, and for each beta the corrected and uncorrected EWMA."""

    table = pd.DataFrame({"day": np.arange(1, len(theta) + 1), "theta": theta})
    for beta in betas:
        table[f"ewma_{beta:g}"] = ewma(theta, beta, bias_correction=True)
        table[f"ewma_{beta:g}_uncorrected"] = ewma(theta, beta, bias_correction=False)
    return table


def plot_article(table, betas: tuple[float, ...], path: Path) -> None:
    """Left: curves for each beta with its window; right: the start of the largest beta."""
    fig = Figure(figsize=(14, 5))
    ax, ax0 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    ax.scatter(table["day"], table["theta"], s=6, color="0.6", label="θ (daily value)")
    for beta in betas:
        ax.plot(
            table["day"],
            table[f"ewma_{beta:g}"],
            lw=1.8,
            label=f"β = {beta:g}, window 1/(1−β) = {window(beta):.0f} days",
        )
    ax.set(xlabel="day", ylabel="value", title="v_t = β v_{t−1} + (1−β) θ_t, bias-corrected")
    ax.legend(loc="upper left", fontsize=8)

    beta = max(betas)
    start = table.iloc[: min(len(table), int(2 * window(beta)))]
    ax0.scatter(start["day"], start["theta"], s=6, color="0.6", label="θ")
    ax0.plot(start["day"], start[f"ewma_{beta:g}"], lw=2, label="v_t / (1 − β^t) (corrected)")
    ax0.plot(start["day"], start[f"ewma_{beta:g}_uncorrected"], lw=2, label="v_t (v_0 = 0)")
    ax0.set(xlabel="day", title=f"β = {beta:g}: the start with and without bias correction")
    ax0.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _parse_beta(text: str) -> float:
    try:
        beta = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= beta < 1.0:
        raise argparse.ArgumentTypeError(f"beta must lie in [0, 1), got {text}")
    return beta


def cli(argv: list[str]) -> int:
    """`regexp ewma`: reproduce the article's figure; PNG + CSV in a timestamped folder."""

    parser = ArgumentParser(
        prog="regexp ewma",
        description="Exponentially weighted averages of a noisy year of daily values.",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    parser.add_argument("--days", type=number(1, integer=True), default=365,
                        help="length of the series")  # fmt: skip
    parser.add_argument("--noise", type=number(0), default=4.0, help="noise std (default 4)")
    parser.add_argument(
        "--betas", type=_parse_beta, nargs="+", default=list(ARTICLE_BETAS), metavar="BETA"
    )
    parser.add_argument("--out", type=Path, default=output_root() / "ewma", help="parent folder")
    parser.add_argument("--yes", action="store_true", help="draw a very long series all the same")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    betas = tuple(args.betas)
    check_series(args.days, 2 + 2 * len(betas), args.yes)  # day, θ, two columns per β
    table = article_table(noisy_year(args.seed, args.days, args.noise), betas)
    folder = claim_dir(args.out, flag="--out")
    table.to_csv(folder / "ewma.csv", index=False, float_format="%.6g")
    plot_article(table, betas, folder / "ewma.png")
    for beta in betas:
        print(f"beta = {beta:g}: window 1/(1-beta) = {window(beta):g} points")
    print(folder)
    return 0
