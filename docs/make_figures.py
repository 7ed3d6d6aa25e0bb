"""Regenerate the pictures of the docs: ``python docs/make_figures.py`` (about a minute)."""

from __future__ import annotations

import logging
from pathlib import Path

from matplotlib.figure import Figure

import tsvae
from tsvae.diagnostics import plot_latent_pca

OUT = Path(__file__).resolve().parent / "images"


def main() -> None:
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
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


if __name__ == "__main__":
    main()
