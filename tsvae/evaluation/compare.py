"""``compare_methods``: the same evaluation on each generation method's output, side by side."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tsvae.evaluation.evaluate import evaluate

DEFAULT_METHODS = ("prior", "posterior", "noisy_posterior", "aggregate")


@dataclass
class MethodComparison:
    """Key figures per method (columns) plus the model's latent diagnostics."""

    table: pd.DataFrame
    reports: dict
    diagnostics: object
    #: whether every method drew its values from the decoder's likelihood (True) or returned
    #: decoded means
    observation_noise: bool = True
    #: the latent PCA as a base64 PNG (None without plots)
    latent_figure: str | None = None

    def to_html(self, path=None, *, overwrite: bool = False) -> str:
        """One self-contained page: the method-by-figure table, the latent diagnostics with
        the latent PCA and a section per method; written if ``path`` (atomically; an
        existing file is refused unless ``overwrite``)."""
        from tsvae.evaluation.compare_html import render_comparison

        text = render_comparison(self)
        if path is not None:
            from pathlib import Path

            from tsvae.io import atomic_write_bytes

            atomic_write_bytes(Path(path), text.encode("utf-8"), overwrite=overwrite)
        return text

    def to_markdown(self) -> str:
        head = "| figure | " + " | ".join(self.table.columns) + " |"
        lines = [head, "|" + "---|" * (len(self.table.columns) + 1)]
        for name, values in self.table.iterrows():
            cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in values]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in self.diagnostics.summary.items())
        return "\n".join(lines) + f"\n\nLatent diagnostics: {summary}"

    def __repr__(self) -> str:
        return self.to_markdown()


def _in_model_columns(model, real):
    """``real`` restricted to the model's columns, in the model's order; a missing column (or
    an array with another number of features) is refused before any work."""
    from tsvae.data.long_format import SAMPLE_COL, STEP_COL, is_long_format, with_index_columns

    columns = list(model.columns_)
    if isinstance(real, pd.DataFrame):
        frame = with_index_columns(real)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"real has no column {missing[0]!r}, which the model was fitted "
                             f"on; pass data with the model's columns {columns!r} (real has "
                             f"{list(frame.columns)!r}).")
        keep = [SAMPLE_COL, STEP_COL] if is_long_format(frame) else []
        return frame[[*keep, *columns]]
    shape = getattr(real, "shape", None)
    if shape is not None and len(shape) == 3 and shape[2] != len(columns):
        raise ValueError(f"real windows have {shape[2]} features but the model was fitted on "
                         f"{len(columns)} ({columns!r}); pass windows of the model's columns.")
    return real


def compare_methods(model, real, methods=DEFAULT_METHODS, n: int | None = None, *,
                    noise_scale: float = 1.5, observation_noise: bool = True,
                    checks=None, fast: bool = False,
                    random_state: int | None = 0, conditions=None,
                    **evaluate_kwargs) -> MethodComparison:
    """Generate with each method and evaluate each output against ``real``.

    The toolkit's answer to "prior or posterior?": one table, one column per method, with
    the detection scores (the feature classifier and MiniRocket; the GRU scores of the
    TimeGAN protocol with ``checks=["default", "timegan"]``), marginal/temporal/correlation
    gaps, MMD, the privacy figure and the verdict; ``diagnostics`` holds the latent
    diagnostics.

    Parameters
    ----------
    model : TimeSeriesVAE
        A fitted unconditional model (``n_future == 0``).
    real : DataFrame or array
        Real data as accepted by :func:`tsvae.evaluate` (windows of ``model.n_past``).
    methods : sequence of str
        Generation methods to compare.
    n : int, optional
        Windows per method (default: as many as the real data has, at most 10,000).
    noise_scale : float
        Scale of the ``noisy_posterior`` method.
    observation_noise : bool
        One switch for every method, so that they are compared like with like: all draw
        every value from the decoder's likelihood ``p(x | z)`` (True, as real windows carry
        movement ``z`` does not fix) or all return decoded means (False). The table states it in its
        ``observation_noise`` row.
    conditions : dict or DataFrame, optional
        For a model fitted with conditions: what every method generates for (as in
        :meth:`TimeSeriesVAE.generate`); pass ``real`` windows of the same condition. For
        checks per condition value use ``tsvae.evaluate(..., by=...)``.

    Examples
    --------
    >>> import tsvae
    >>> X = tsvae.datasets.make_sines(200, length=12, n_features=2, random_state=0)
    >>> model = tsvae.TimeSeriesVAE(n_past=12, latent_dim=2, hidden_size=8, max_epochs=1,
    ...                             progress_bar=False, random_state=0,
    ...                             trainer_kwargs={"accelerator": "cpu"}).fit(X)
    >>> result = compare_methods(model, X, methods=("prior", "aggregate"), checks=["ks"],
    ...                          plots_in_report=False)
    >>> list(result.table.columns)
    ['prior', 'aggregate']
    """
    model._check_fitted()
    if model.n_future:
        raise ValueError("compare_methods evaluates whole windows; use a model with "
                         "n_future = 0 (conditional models: evaluate generate_series output).")
    from tsvae.evaluation.inputs import to_windows
    from tsvae.generation.samplers import SAMPLERS

    real = _in_model_columns(model, real)  # before any generating: a mismatch fails at once
    real_windows, _ = to_windows(real, "real", model.n_past, None)
    n = n if n is not None else min(len(real_windows), 10_000)
    columns, reports = {}, {}
    # A model saved without its training codes encodes the real windows for the posterior
    # methods instead (they draw around real windows either way).
    encode_real = model.train_latents_ is None
    for method in methods:
        posterior_x = (real_windows if encode_real and SAMPLERS[method].uses_real_windows
                       else None)
        synthetic = model.generate(n, method=method, noise_scale=noise_scale,
                                   random_state=random_state, as_array=True,
                                   conditions=conditions, x=posterior_x,
                                   observation_noise=bool(observation_noise))
        report = evaluate(real, synthetic, model.n_past, checks=checks, fast=fast,
                          random_state=random_state, **evaluate_kwargs)
        report.meta.update({"method": method, "observation_noise": bool(observation_noise),
                            "generation_seed": random_state})
        reports[method] = report
        columns[method] = {**report.key_figures(),
                           "observation_noise": bool(observation_noise)}
    table = pd.DataFrame(columns)
    figure = None
    if evaluate_kwargs.get("plots_in_report", True) and not encode_real:  # PCA needs codes
        from tsvae.evaluation import plots

        figure = plots.figure_to_base64(plots.latent_pca(model))
    return MethodComparison(table, reports, model.latent_diagnostics(),
                            bool(observation_noise), figure)
