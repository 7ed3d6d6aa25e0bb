"""``EvaluationReport``: the tidy table, the verdict, and text/JSON/markdown/HTML output."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from tsvae.evaluation.base import ROW_COLUMNS
from tsvae.evaluation.scores import GROUP_PASS_RATE, group_scores

__all__ = ["GROUP_PASS_RATE", "EvaluationReport"]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "pass" if value else "FAIL"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def strict(value):
    """``value`` with every NaN or infinity replaced by None (JSON ``null``) and NumPy
    scalars and arrays made plain Python, so that ``json.dumps(..., allow_nan=False)`` writes
    strict JSON (bare ``NaN`` is rejected by most parsers).

    Examples
    --------
    >>> strict({"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": np.int64(2)})
    {'a': None, 'b': [1.5, None], 'c': 2}
    """
    if isinstance(value, dict):
        return {key if isinstance(key, str | int | bool) or key is None else str(key):
                strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict(item) for item in value]
    if isinstance(value, np.ndarray):
        return [strict(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def dumps_strict(value) -> str:
    """Strict JSON text of ``value`` (non-finite numbers as ``null``), indented by 2."""
    return json.dumps(strict(value), indent=2, allow_nan=False, default=str)


class EvaluationReport:
    """Result of :func:`tsvae.evaluate`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (check, feature): ``check, group, feature, statistic, real_value,
        synthetic_value, p_value, threshold, passed``.
    checks : dict
        ``name -> {"group", "description", "rule"}`` of every check that ran.
    passed : bool
        The verdict: every group passes at least 80% of its rows.
    """

    def __init__(self, table: pd.DataFrame, checks: dict, *, figures: dict | None = None,
                 latent: object | None = None, meta: dict | None = None) -> None:
        self.table = table[ROW_COLUMNS].reset_index(drop=True)
        self.checks = checks
        self.figures = figures or {}
        self.latent = latent
        self.meta = meta or {}

    # ----------------------------------------------------------------- figures
    def group_summary(self) -> pd.DataFrame:
        """Rows, passed rows and pass rate per group."""
        return group_scores(self.table).rename(columns={"score": "pass_rate"})

    @property
    def passed(self) -> bool:
        return bool(len(self.table)) and bool(self.group_summary()["group_passed"].all())

    @property
    def pass_rate(self) -> float:
        return float(self.table["passed"].mean()) if len(self.table) else float("nan")

    def score(self, check: str, column: str = "statistic") -> float:
        """Mean of ``column`` over the rows of ``check`` (NaN when it did not run)."""
        rows = self.table[self.table["check"] == check]
        return float(rows[column].astype(float).mean()) if len(rows) else float("nan")

    def giveaways(self, top: int = 3) -> str:
        """The window summaries that give the synthetic windows away (largest KS gap first),
        when the feature classifier told them apart; ``""`` otherwise."""
        rows = (self.meta.get("detection") or {}).get("feature_discriminative", {}).get(
            "giveaways") or []
        return "; ".join(row["summary"] for row in rows[:top])

    def key_figures(self) -> dict:
        """The headline numbers, as used by :func:`tsvae.compare_methods`."""
        return {
            "verdict": "pass" if self.passed else "fail",
            "pass_rate": self.pass_rate,
            "discriminative": self.score("discriminative"),
            "feature_discriminative": self.score("feature_discriminative"),
            "feature_discriminative_floor": self.score("feature_discriminative",
                                                       "real_value"),
            "minirocket": self.score("minirocket"),
            "gives_it_away": self.giveaways(),
            "predictive_tstr": self.score("predictive", "synthetic_value"),
            "predictive_trtr": self.score("predictive", "real_value"),
            "ks_mean": self.score("ks"),
            "wasserstein_mean": self.score("wasserstein"),
            "acf_gap_mean": self.score("acf"),
            "correlation_gap": self.score("correlation"),
            "mmd2": self.score("mmd"),
            "dcr_close_share": self.score("dcr"),
        }

    # ----------------------------------------------------------------- outputs
    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy table."""
        return self.table.copy()

    def to_dict(self) -> dict:
        rows = json.loads(self.table.to_json(orient="records"))
        return {"passed": self.passed, "pass_rate": self.pass_rate,
                "groups": json.loads(self.group_summary().to_json(orient="index")),
                "key_figures": self.key_figures(), "checks": self.checks, "rows": rows,
                "meta": self.meta}

    def to_json(self, path=None, *, overwrite: bool = False) -> str:
        """Strict JSON of the verdict, key figures, check descriptions and rows (a figure that
        is NaN or infinite, such as the score of a check that did not run, is ``null``);
        written if ``path`` (atomically; an existing file is refused unless ``overwrite``)."""
        text = dumps_strict(self.to_dict())  # NaN as null: strict parsers reject NaN
        if path is not None:
            from tsvae.io import atomic_write_bytes

            atomic_write_bytes(Path(path), text.encode("utf-8"), overwrite=overwrite)
        return text

    def to_markdown(self) -> str:
        """A markdown table of every row, preceded by the verdict and group summary."""
        lines = [f"**Verdict: {'PASS' if self.passed else 'FAIL'}** "
                 f"({self.pass_rate:.0%} of rows pass)", "",
                 "| group | rows | passed | pass rate |", "|---|---|---|---|"]
        for group, g in self.group_summary().iterrows():
            lines.append(f"| {group} | {g['rows']} | {g['passed']} | {g['pass_rate']:.0%} |")
        for name, reason in (self.meta.get("skipped") or {}).items():
            lines.append(f"\nNot run: {name} ({reason})")
        if self.meta.get("not_run"):
            lines.append(f"\n{self.meta['not_run']['how']}")
        lines += ["", "| " + " | ".join(ROW_COLUMNS) + " |",
                  "|" + "---|" * len(ROW_COLUMNS)]
        for record in self.table.itertuples(index=False):
            lines.append("| " + " | ".join(_fmt(v) for v in record) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        summary = self.group_summary()
        groups = ", ".join(f"{g} {int(r.passed)}/{int(r.rows)}" for g, r in summary.iterrows())
        figures = self.key_figures()
        skipped = ", ".join(self.meta.get("skipped") or {})
        return (f"EvaluationReport(verdict={'PASS' if self.passed else 'FAIL'}, "
                f"pass_rate={self.pass_rate:.2f}, {groups}; "
                f"discriminative={figures['discriminative']:.3f}"
                + (f"; not run: {skipped}" if skipped else "") + ")")

    def to_html(self, path=None, *, overwrite: bool = False) -> str:
        """Self-contained HTML (embedded PNG images, no network); written if ``path``
        (atomically; an existing file is refused unless ``overwrite``)."""
        from tsvae.evaluation.html import render_report

        text = render_report(self)
        if path is not None:
            from tsvae.io import atomic_write_bytes

            atomic_write_bytes(Path(path), text.encode("utf-8"), overwrite=overwrite)
        return text

    def _repr_html_(self) -> str:  # notebooks
        return f"<pre>{html.escape(repr(self))}</pre>" + self.table.to_html(index=False)
