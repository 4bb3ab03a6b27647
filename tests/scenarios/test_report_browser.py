"""A sweep's report.html opened in headless Chromium (Playwright): what a user's browser shows.

A sweep over two keys (penalty.lam x optimizer.lr, two seeds each) whose folder also holds
an Optuna search's two figures: the page names the best configuration first, decodes every
figure and thumbnail, shows a dozen rows or more on a 1400 x 1800 screen, sorts, and logs no error.

Needs the `playwright` package (the dev extra) and Debian's Chromium at /usr/bin/chromium;
Playwright's own browser download is not used.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from regexp.read.summary import end_sweep
from tests.fixtures_runs import make_sweep, metrics, write_history

CHROMIUM = Path("/usr/bin/chromium")
LAMS, LRS, SEEDS = (0.0, 0.001, 0.01, 0.1), (0.003, 0.03), (1, 2)
N_JOBS = len(LAMS) * len(LRS) * len(SEEDS)
SCREEN = {"width": 1400, "height": 1800}
OPTUNA = ("optuna_history.png", "optuna_importance.png")


def _val(lam: float, lr: float, seed: int) -> float:
    return 0.02 + lam + abs(lr - 0.01) + seed / 1000


@pytest.fixture
def report(tmp_path: Path) -> Path:
    jobs = [
        dict(
            config={"penalty.lam": lam, "optimizer.lr": lr, "seed": seed},
            overrides=[f"penalty.lam={lam}", f"optimizer.lr={lr}", f"seed={seed}"],
            result=metrics(_val(lam, lr, seed), seed=seed),
            plot=True,
        )
        for lam in LAMS
        for lr in LRS
        for seed in SEEDS
    ]
    sweep = make_sweep(tmp_path / "sweep", jobs)
    for i, job in enumerate(jobs):
        write_history(sweep / str(i), job["result"]["val_mse"] * 30)
    for name in OPTUNA:  # an Optuna search's figures, drawn by its sweeper
        matplotlib.image.imsave(sweep / name, np.random.default_rng(0).random((120, 160, 3)))
    assert end_sweep(sweep, N_JOBS) == 0
    return sweep / "report.html"


@pytest.fixture
def page():
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("no /usr/bin/chromium: install it with `apt-get install -y chromium`")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (or pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport=SCREEN)
        finally:
            browser.close()


def _column(page, name: str) -> list[str]:
    headers = page.locator("table.runs thead th").all_inner_texts()
    col = [h.strip() for h in headers].index(name)
    return page.locator(f"table.runs tbody tr td:nth-child({col + 1})").all_inner_texts()


def test_report_names_the_best_run_first_decodes_every_image_and_sorts(report, page):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")

    # the best configuration opens the page (seeds are its repeats): the lowest mean val_mse,
    # its run nearest that mean linked (of two seeds equally near, the first)
    best_job = int(np.argmin([_val(lam, lr, s) for lam in LAMS for lr in LRS for s in SEEDS]))
    first = page.locator("h2").first.inner_text()
    assert first.startswith("best configuration: penalty.lam=0, optimizer.lr=0.003, val_mse mean "
                            "0.0285 [")  # fmt: skip
    href = page.locator("section.best a.best-folder").get_attribute("href")
    assert (report.parent / href).resolve() == (report.parent / str(best_job)).resolve()

    images = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    figures = page.eval_on_selector_all("img.figure", "imgs => imgs.map(i => i.alt)")
    assert figures == ["summary.png", "curves.png", "parallel.png", *OPTUNA]
    assert len(images) == 1 + len(figures) + N_JOBS  # the best's figure, the figures, thumbs
    assert all(complete and width > 0 for _, complete, width in images), images
    assert page.locator("table.runs tbody tr").count() == N_JOBS

    # compact rows: with the table scrolled to the top, a dozen runs or more fit the screen
    page.evaluate("document.querySelector('table.runs').scrollIntoView()")
    bottoms = page.eval_on_selector_all(
        "table.runs tbody tr", "rows => rows.map(r => r.getBoundingClientRect().bottom)"
    )
    visible = sum(1 for b in bottoms if b <= SCREEN["height"])
    assert visible >= 12, bottoms
    print(f"rows fully visible in {SCREEN['width']} x {SCREEN['height']}: {visible}")

    val = lambda: [float(v) for v in _column(page, "val_mse")]  # noqa: E731
    assert val() != sorted(val())  # job order first: not sorted by val_mse
    page.click("table.runs th:text-is('val_mse')")
    assert val() == sorted(val())
    page.click("table.runs th:text-is('val_mse')")
    assert val() == sorted(val(), reverse=True)
    # a thumbnail links its run's full figure
    href = page.locator("table.runs tbody tr a").first.get_attribute("href")
    assert (report.parent / href).is_file()
    assert errors == []
