"""Figures of real vs synthetic windows (matplotlib ``Figure`` objects, no pyplot state)."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure

REAL_COLOR, SYNTH_COLOR = "#1f77b4", "#d62728"
MAX_PANELS = 12


def figure_to_base64(fig: Figure) -> str:
    """PNG of ``fig`` as a base64 string, for embedding in HTML."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _grid(n: int, width: float = 3.2, height: float = 2.4):
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(width * cols, height * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def sample_overlays(real, synth, columns, rng, n_lines: int = 6) -> Figure:
    features = columns[:MAX_PANELS]
    fig, axes = _grid(len(features))
    r = real[rng.choice(len(real), min(n_lines, len(real)), replace=False)]
    s = synth[rng.choice(len(synth), min(n_lines, len(synth)), replace=False)]
    for j, (ax, name) in enumerate(zip(axes, features, strict=False)):
        ax.plot(r[:, :, j].T, color=REAL_COLOR, alpha=0.6, lw=1)
        ax.plot(s[:, :, j].T, color=SYNTH_COLOR, alpha=0.6, lw=1)
        ax.set_title(name, fontsize=9)
    fig.suptitle("Sample windows: real (blue) vs synthetic (red)")
    return fig


def distributions(real, synth, columns) -> Figure:
    features = columns[:MAX_PANELS]
    fig, axes = _grid(len(features))
    for j, (ax, name) in enumerate(zip(axes, features, strict=False)):
        r, s = real[:, :, j].ravel(), synth[:, :, j].ravel()
        low, high = min(r.min(), s.min()), max(r.max(), s.max())
        bins = np.linspace(low, high if high > low else low + 1, 40)
        ax.hist(r, bins=bins, density=True, alpha=0.5, color=REAL_COLOR, label="real")
        ax.hist(s, bins=bins, density=True, alpha=0.5, color=SYNTH_COLOR, label="synthetic")
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=8)
    fig.suptitle("Per-feature distributions")
    return fig


def _mean_acf(windows: np.ndarray, j: int, n_lags: int) -> np.ndarray:
    x = windows[:, :, j] - windows[:, :, j].mean(axis=1, keepdims=True)
    denom = (x**2).sum(axis=1)
    ok = denom > 0
    acfs = [np.ones(ok.sum())]
    for k in range(1, n_lags + 1):
        acfs.append((x[ok, :-k] * x[ok, k:]).sum(axis=1) / denom[ok])
    return np.array([a.mean() if len(a) else 0.0 for a in acfs])


def acf_plots(real, synth, columns) -> Figure:
    features = columns[:MAX_PANELS]
    n_lags = max(1, min(10, real.shape[1] - 2))
    fig, axes = _grid(len(features))
    lags = np.arange(n_lags + 1)
    for j, (ax, name) in enumerate(zip(axes, features, strict=False)):
        ax.plot(lags, _mean_acf(real, j, n_lags), "o-", color=REAL_COLOR, ms=3, label="real")
        ax.plot(lags, _mean_acf(synth, j, n_lags), "s--", color=SYNTH_COLOR, ms=3,
                label="synthetic")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=8)
    fig.suptitle("Mean within-window autocorrelation by lag")
    return fig


def embeddings(real, synth, rng, *, tsne: bool = True) -> Figure:
    from sklearn.decomposition import PCA

    n = min(500, len(real), len(synth))
    r = real[rng.choice(len(real), n, replace=False)].reshape(n, -1)
    s = synth[rng.choice(len(synth), n, replace=False)].reshape(n, -1)
    fig = Figure(figsize=(10 if tsne else 5, 4.5))
    axes = fig.subplots(1, 2 if tsne else 1, squeeze=False).ravel()
    pca = PCA(2).fit(r)
    for points, color, label in ((pca.transform(r), REAL_COLOR, "real"),
                                 (pca.transform(s), SYNTH_COLOR, "synthetic")):
        axes[0].scatter(points[:, 0], points[:, 1], s=5, alpha=0.5, color=color, label=label)
    axes[0].set_title("PCA of windows")
    axes[0].legend()
    if tsne:
        from sklearn.manifold import TSNE

        both = TSNE(2, init="pca", perplexity=30, random_state=0).fit_transform(
            np.concatenate([r, s]))
        axes[1].scatter(both[:n, 0], both[:n, 1], s=5, alpha=0.5, color=REAL_COLOR)
        axes[1].scatter(both[n:, 0], both[n:, 1], s=5, alpha=0.5, color=SYNTH_COLOR)
        axes[1].set_title("t-SNE of windows")
    return fig


def correlation_heatmaps(real, synth, columns) -> Figure:
    from tsvae.evaluation.multivariate import lagged_correlation

    r, s = lagged_correlation(real, 0), lagged_correlation(synth, 0)
    fig = Figure(figsize=(13, 4.2))
    axes = fig.subplots(1, 3)
    for ax, matrix, title, cmap, limits in ((axes[0], r, "real", "RdBu_r", (-1, 1)),
                                            (axes[1], s, "synthetic", "RdBu_r", (-1, 1)),
                                            (axes[2], np.abs(r - s), "|difference|", "Reds",
                                             (0, 1))):
        image = ax.imshow(matrix, cmap=cmap, vmin=limits[0], vmax=limits[1])
        ax.set_title(f"Correlation, {title}")
        if len(columns) <= 15:
            ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
            ax.set_yticks(range(len(columns)), columns, fontsize=7)
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def latent_pca(model) -> Figure:
    from tsvae.diagnostics import plot_latent_pca

    fig = Figure(figsize=(5, 5))
    plot_latent_pca(model, ax=fig.subplots())
    return fig
