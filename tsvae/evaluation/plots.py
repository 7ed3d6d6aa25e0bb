"""Figures of real vs synthetic windows (matplotlib ``Figure`` objects, no pyplot state).

Real data is always blue and synthetic data always red, in every figure. Per-feature figures
show the features passed in ``features`` (the report passes the worst ones first), at most
:data:`MAX_PANELS`.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure

REAL_COLOR, SYNTH_COLOR = "#1f77b4", "#d62728"
MAX_PANELS = 12
DPI = 110
#: Windows a side drawn as points in the embeddings figure (t-SNE's time grows faster than n).
EMBEDDED_WINDOWS = 300


def figure_to_base64(fig: Figure) -> str:
    """PNG of ``fig`` as a base64 string, for embedding in HTML."""
    buffer = io.BytesIO()
    # Every figure is laid out "constrained" (legends included): no second, "tight" layout
    # pass, which took as long again as drawing.
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _chosen(columns, features) -> list[tuple[int, str]]:
    """(index, name) of the features to draw: ``features`` in their order, else the first."""
    columns = list(columns)
    names = list(features) if features is not None else columns
    return [(columns.index(n), n) for n in names if n in columns][:MAX_PANELS]


def _grid(n: int, width: float = 3.6, height: float = 2.8):
    cols = min(3, max(n, 1))
    rows = int(np.ceil(max(n, 1) / cols))
    fig = Figure(figsize=(width * cols, height * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _legend(fig: Figure, real_label: str = "real", synth_label: str = "synthetic") -> None:
    from matplotlib.lines import Line2D

    fig.legend([Line2D([], [], color=REAL_COLOR, lw=2), Line2D([], [], color=SYNTH_COLOR, lw=2)],
               [real_label, synth_label], loc="outside upper right", ncols=2, fontsize=9)


def sample_overlays(real, synth, columns, rng, n_lines: int = 6, features=None) -> Figure:
    chosen = _chosen(columns, features)
    fig, axes = _grid(len(chosen))
    r = real[rng.choice(len(real), min(n_lines, len(real)), replace=False)]
    s = synth[rng.choice(len(synth), min(n_lines, len(synth)), replace=False)]
    for ax, (j, name) in zip(axes, chosen, strict=False):
        ax.plot(r[:, :, j].T, color=REAL_COLOR, alpha=0.6, lw=1)
        ax.plot(s[:, :, j].T, color=SYNTH_COLOR, alpha=0.6, lw=1)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step in window", fontsize=8)
        ax.set_ylabel("value", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{len(r)} random windows of each", fontsize=10)
    _legend(fig)
    return fig


def distributions(real, synth, columns, features=None) -> Figure:
    chosen = _chosen(columns, features)
    fig, axes = _grid(len(chosen))
    for ax, (j, name) in zip(axes, chosen, strict=False):
        r, s = real[:, :, j].ravel(), synth[:, :, j].ravel()
        low, high = min(r.min(), s.min()), max(r.max(), s.max())
        bins = np.linspace(low, high if high > low else low + 1, 40)
        ax.hist(r, bins=bins, density=True, alpha=0.5, color=REAL_COLOR)
        ax.hist(s, bins=bins, density=True, alpha=0.5, color=SYNTH_COLOR)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("value", fontsize=8)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("Distribution of every value", fontsize=10)
    _legend(fig)
    return fig


def _mean_acf(windows: np.ndarray, j: int, n_lags: int) -> np.ndarray:
    from tsvae.evaluation.temporal import window_acf

    x = windows[:, :, j]
    x = x[np.ptp(x, axis=1) > 0]
    return window_acf(x, n_lags).mean(axis=0) if len(x) else np.zeros(n_lags + 1)


def acf_plots(real, synth, columns, features=None) -> Figure:
    chosen = _chosen(columns, features)
    n_lags = max(1, min(10, real.shape[1] - 2))
    fig, axes = _grid(len(chosen))
    lags = np.arange(n_lags + 1)
    for ax, (j, name) in zip(axes, chosen, strict=False):
        ax.plot(lags, _mean_acf(real, j, n_lags), "o-", color=REAL_COLOR, ms=3)
        ax.plot(lags, _mean_acf(synth, j, n_lags), "s--", color=SYNTH_COLOR, ms=3)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("lag (steps)", fontsize=8)
        ax.set_ylabel("autocorrelation", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("Mean within-window autocorrelation by lag", fontsize=10)
    _legend(fig)
    return fig


def embeddings(real, synth, rng, *, tsne: bool = True) -> Figure:
    from sklearn.decomposition import PCA

    n = min(EMBEDDED_WINDOWS, len(real), len(synth))
    r = real[rng.choice(len(real), n, replace=False)].reshape(n, -1)
    s = synth[rng.choice(len(synth), n, replace=False)].reshape(n, -1)
    fig = Figure(figsize=(10 if tsne else 5, 4.8), layout="constrained")
    axes = fig.subplots(1, 2 if tsne else 1, squeeze=False).ravel()
    pca = PCA(2).fit(r)
    for points, color in ((pca.transform(r), REAL_COLOR), (pca.transform(s), SYNTH_COLOR)):
        axes[0].scatter(points[:, 0], points[:, 1], s=5, alpha=0.5, color=color)
    axes[0].set_title("PCA of windows (fitted on real)", fontsize=10)
    axes[0].set_xlabel("PC 1")
    axes[0].set_ylabel("PC 2")
    # Barnes-Hut t-SNE crashes the process (a segmentation fault) on identical rows.
    tsne = tsne and len(np.unique(np.concatenate([r, s]), axis=0)) > 1
    if tsne:
        from sklearn.manifold import TSNE

        both = TSNE(2, init="pca", perplexity=30, random_state=0).fit_transform(
            np.concatenate([r, s]))
        axes[1].scatter(both[:n, 0], both[:n, 1], s=5, alpha=0.5, color=REAL_COLOR)
        axes[1].scatter(both[n:, 0], both[n:, 1], s=5, alpha=0.5, color=SYNTH_COLOR)
        axes[1].set_title("t-SNE of windows", fontsize=10)
        axes[1].set_xlabel("t-SNE 1")
        axes[1].set_ylabel("t-SNE 2")
    _legend(fig)
    return fig


def correlation_heatmaps(real, synth, columns) -> Figure:
    from tsvae.evaluation.multivariate import lagged_correlation

    r, s = lagged_correlation(real, 0), lagged_correlation(synth, 0)
    labelled = len(columns) <= 30
    side = 4.2 if len(columns) <= 12 else 5.5
    fig = Figure(figsize=(3 * side + 1, side + 0.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, matrix, title, cmap, limits in ((axes[0], r, "real", "RdBu_r", (-1, 1)),
                                            (axes[1], s, "synthetic", "RdBu_r", (-1, 1)),
                                            (axes[2], np.abs(r - s), "|real - synthetic|",
                                             "Reds", (0, 1))):
        image = ax.imshow(matrix, cmap=cmap, vmin=limits[0], vmax=limits[1])
        ax.set_title(f"Correlation, {title}", fontsize=10)
        if labelled:
            size = 7 if len(columns) <= 15 else 5
            ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=size)
            ax.set_yticks(range(len(columns)), columns, fontsize=size)
        else:
            ax.set_xlabel("feature index")
            ax.set_ylabel("feature index")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def latent_pca(model) -> Figure:
    from tsvae.diagnostics import plot_latent_pca

    fig = Figure(figsize=(5.5, 5), layout="constrained")
    plot_latent_pca(model, ax=fig.subplots())
    return fig
