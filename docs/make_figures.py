"""Regenerate the pictures of the docs: ``python docs/make_figures.py`` (a few minutes;
``--only real_vs_synthetic`` or ``--only latent_pca`` for one)."""

from __future__ import annotations

import logging
from pathlib import Path

from matplotlib.figure import Figure

import tsvae
from tsvae.diagnostics import plot_latent_pca

OUT = Path(__file__).resolve().parent / "images"


def real_vs_synthetic() -> None:
    """The landing page's figure: real and synthetic Energy windows, three features."""
    import numpy as np

    from tsvae.data.windows import sliding_windows
    from tsvae.evaluation import plots

    data = tsvae.datasets.load_energy().iloc[:6_000, :8]
    model = tsvae.TimeSeriesVAE(n_past=24, hidden_size=32, max_epochs=15, random_state=0,
                                progress_bar=False).fit(data)
    synthetic = model.generate(200, random_state=1, as_array=True)  # method "aggregate"
    real = sliding_windows(data.to_numpy(np.float64), 24)
    fig = plots.sample_overlays(real, synthetic, list(data.columns), np.random.default_rng(0),
                                n_lines=5, features=["T1", "RH_1", "T2"])
    fig.suptitle("Energy data: 5 real windows (blue) and 5 synthetic ones (red) per feature",
                 fontsize=10)
    fig.savefig(OUT / "real_vs_synthetic.png", dpi=100)
    print(f"wrote {OUT / 'real_vs_synthetic.png'}")


def latent_pca() -> None:
    data = tsvae.datasets.load_etth1()
    fig = Figure(figsize=(10, 4.5))
    axes = fig.subplots(1, 2)
    for ax, alpha in zip(axes, (1.0, 100.0), strict=True):
        model = tsvae.TimeSeriesVAE(n_past=24, alpha=alpha, max_epochs=15, random_state=0,
                                    progress_bar=False).fit(data)
        plot_latent_pca(model, ax=ax, n_prior=1000)
        hole = model.latent_diagnostics().summary["prior_hole_score"]
        ax.set_title(f"ETTh1, alpha={alpha:g}: prior-hole score {hole:.2f}", fontsize=10)
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "latent_pca.png", dpi=80)
    print(f"wrote {OUT / 'latent_pca.png'}")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["real_vs_synthetic", "latent_pca"])
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    OUT.mkdir(exist_ok=True)
    if args.only in (None, "real_vs_synthetic"):
        real_vs_synthetic()
    if args.only in (None, "latent_pca"):
        latent_pca()


if __name__ == "__main__":
    main()
