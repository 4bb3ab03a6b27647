"""A sweep's report.html opened in headless Chromium (Playwright): what a user's browser shows.

Needs the `playwright` package (the dev extra) and Debian's Chromium at /usr/bin/chromium;
Playwright's own browser download is not used.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from regexp.read.collect import read_sweep
from regexp.read.summary import write_pictures
from tests.fixtures_runs import make_sweep, metrics

CHROMIUM = Path("/usr/bin/chromium")
N_JOBS = 6


@pytest.fixture
def report(tmp_path: Path) -> Path:
    jobs = [
        dict(
            config={"penalty.lam": lam, "seed": seed},
            overrides=[f"penalty.lam={lam}", f"seed={seed}"],
            result=metrics(0.01 + lam + seed / 100, seed=seed),
            plot=True,
        )
        for lam in (0.0, 0.001, 0.01)
        for seed in (1, 2)
    ]
    sweep = make_sweep(tmp_path / "sweep", jobs)
    write_pictures(sweep, read_sweep(sweep))
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
            yield browser.new_page()
        finally:
            browser.close()


def _column(page, name: str) -> list[str]:
    headers = page.locator("table.runs thead th").all_inner_texts()
    col = [h.strip() for h in headers].index(name)
    return page.locator(f"table.runs tbody tr td:nth-child({col + 1})").all_inner_texts()


def test_report_opens_decodes_every_image_and_sorts(report, page):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")

    images = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert len(images) == 1 + N_JOBS  # summary.png and a thumbnail per job
    assert all(complete and width > 0 for _, complete, width in images), images
    assert page.locator("table.runs tbody tr").count() == N_JOBS

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
