"""Render an evaluation report and a method comparison page, and screenshot them.

Fits a small model on the bundled energy data (a fixed number of epochs), writes
``report.html`` and ``compare.html`` into ``--out`` and, when Debian's ``chromium`` is on the
PATH, a full-page PNG of each, for a person to look at before a change to the pages ships.

Run: ``python benchmarks/render_reports.py --out /tmp/tsvae-pages``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import quiet_lightning  # noqa: E402

import tsvae  # noqa: E402


def screenshot(page: Path, height: int = 2400) -> Path | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    png = page.with_suffix(".png")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", f"--window-size=1280,{height}", page.as_uri()],
                   check=True, capture_output=True, timeout=180)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="pages", help="folder of the pages (created)")
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--height", type=int, default=2400, help="screenshot height (px)")
    args = parser.parse_args()
    quiet_lightning()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = tsvae.datasets.load_energy().iloc[:4_000, :8]
    model = tsvae.TimeSeriesVAE(n_past=24, latent_dim=6, hidden_size=32,
                                max_epochs=args.max_epochs, random_state=0,
                                progress_bar=False).fit(data)
    synthetic = model.generate(1_000, random_state=0)
    report = tsvae.evaluate(data, synthetic, n_past=24, fast=True, model=model,
                            checks=[*tsvae.evaluation.GROUPS, "feature_discriminative"])
    report.to_html(out / "report.html", overwrite=True)
    comparison = tsvae.compare_methods(model, data, n=1_000, fast=True)
    comparison.to_html(out / "compare.html", overwrite=True)
    for page in (out / "report.html", out / "compare.html"):
        png = screenshot(page, args.height)
        print(f"wrote {page}" + (f" and {png}" if png else " (no chromium: no screenshot)"))


if __name__ == "__main__":
    main()
