"""What a reader of a report wants first: a score per group, the verdict in words, the worst
failures and the features they concern. Pure functions of the tidy check table."""

from __future__ import annotations

import math

import pandas as pd

from tsvae.evaluation.base import ALL_FEATURES

#: Detectors shown beside the group scores, strongest first: the check name and its label.
#: Each reports ``|accuracy - 0.5|``; those that did not run are left out.
DETECTORS = (("minirocket", "MiniRocket classifier"),
             ("feature_discriminative", "feature classifier"),
             ("discriminative", "GRU classifier (TimeGAN protocol)"))


#: A group passes when at least this share of its rows pass; the verdict needs every group.
GROUP_PASS_RATE = 0.8


def group_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Per group present in ``table`` (in table order): rows, passed rows, the score (the
    share of rows that pass, 0-100%) and ``group_passed`` (score >= :data:`GROUP_PASS_RATE`).

    Every reading of a group (its card, its row in the comparison, the verdict) comes from
    here, and every row's ``passed`` from its check's own rule.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["a", "a", "b"], "passed": [True, False, True]})
    >>> group_scores(t)[["score", "group_passed"]].values.tolist()
    [[0.5, False], [1.0, True]]
    """
    grouped = table.groupby("group", sort=False)["passed"]
    out = pd.DataFrame({"rows": grouped.size(), "passed": grouped.sum().astype(int)})
    out["score"] = out["passed"] / out["rows"]
    out["group_passed"] = out["score"] >= GROUP_PASS_RATE
    return out


def check_passed(table: pd.DataFrame, check: str) -> bool | None:
    """Whether every row of ``check`` passes its rule (None when the check did not run).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"check": ["ks", "ks", "dcr"], "passed": [True, False, True]})
    >>> check_passed(t, "ks"), check_passed(t, "dcr"), check_passed(t, "acf")
    (False, True, None)
    """
    rows = table.loc[table["check"] == check, "passed"]
    return bool(rows.astype(bool).all()) if len(rows) else None


def severity(record) -> float:
    """How far a row is past its bound: ``statistic / threshold`` for "at most" rules, or
    ``threshold / p_value`` for p-value rules; 1 when neither applies."""
    statistic, threshold, p_value = (record.get("statistic"), record.get("threshold"),
                                     record.get("p_value"))

    def number(value):
        return value is not None and isinstance(value, (int, float)) and math.isfinite(value)

    if number(statistic) and number(threshold) and threshold > 0 and statistic > threshold:
        return float(statistic / threshold)
    if number(p_value) and number(threshold) and threshold > 0 and p_value < threshold:
        return float(threshold / max(p_value, 1e-12))
    return 1.0


def failures(table: pd.DataFrame) -> pd.DataFrame:
    """Failed rows, worst first (largest :func:`severity`), with a ``severity`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"check": ["ks", "ks"], "group": ["m", "m"], "feature": ["a", "b"],
    ...                   "statistic": [0.2, 0.5], "threshold": [0.1, 0.1], "p_value": [None] * 2,
    ...                   "passed": [False, False]})
    >>> failures(t)["feature"].tolist()
    ['b', 'a']
    """
    failed = table[~table["passed"].astype(bool)].copy()
    failed["severity"] = [severity(r) for r in failed.to_dict("records")]
    return failed.sort_values("severity", ascending=False, kind="stable")


def base_feature(name: str) -> str | None:
    """The data column a row's ``feature`` names (``"T1:std"`` -> ``"T1"``); None for rows
    about all features together."""
    if not isinstance(name, str) or name.startswith(ALL_FEATURES):
        return None
    return name.split(":", 1)[0]


def worst_features(table: pd.DataFrame, columns, n: int = 6) -> list[str]:
    """Up to ``n`` data columns ordered by their failures (summed severity), then filled in
    column order, so figures show what went wrong first."""
    scores: dict[str, float] = {}
    for record in failures(table).to_dict("records"):
        name = base_feature(record["feature"])
        if name in columns:
            scores[name] = scores.get(name, 0.0) + min(record["severity"], 10.0)
    ranked = sorted(scores, key=lambda k: -scores[k])
    ranked += [c for c in columns if c not in scores]
    return ranked[:n]


def detection_scores(table: pd.DataFrame) -> dict[str, float]:
    """The detectors that ran, as ``label -> score`` where the score is ``|accuracy - 0.5|``
    (0: the detector cannot tell synthetic from real; 0.5: it always can)."""
    return {label: d["score"] for label, d in detectors(table).items()}


def detectors(table: pd.DataFrame) -> dict[str, dict]:
    """The detectors that ran: ``label -> {"check", "score", "threshold", "passed"}``;
    ``passed`` is the check's own rule (its row), the only reading a card may show."""
    out = {}
    for check, label in DETECTORS:
        rows = table[table["check"] == check]
        if len(rows):
            out[label] = {"check": check, "score": float(rows["statistic"].astype(float).mean()),
                          "threshold": float(rows["threshold"].astype(float).max()),
                          "passed": bool(rows["passed"].astype(bool).all())}
    return out


def verdict_sentence(table: pd.DataFrame) -> str:
    """One sentence: the verdict, the failing groups and the checks that fail most in each.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"check": ["ks", "acf"], "group": ["marginal", "temporal"],
    ...                   "passed": [True, False]})
    >>> verdict_sentence(t)
    'FAIL: 1 of 2 groups fall short: temporal (0% of rows pass; acf fails 1 of 1).'
    """
    if not len(table):
        return "No check ran."
    scores = group_scores(table)
    failing = scores[~scores["group_passed"]]
    if failing.empty:
        return (f"PASS: every group ({', '.join(scores.index)}) passes at least "
                f"{GROUP_PASS_RATE:.0%} of its rows.")
    parts = []
    for group, g in failing.iterrows():
        rows = table[table["group"] == group]
        by_check = rows.groupby("check", sort=False)["passed"].agg(["size", "sum"])
        by_check["failed"] = by_check["size"] - by_check["sum"]
        worst = by_check[by_check["failed"] > 0].sort_values("failed", ascending=False,
                                                             kind="stable").head(2)
        named = ", ".join(f"{c} fails {int(r.failed)} of {int(r['size'])}"
                          for c, r in worst.iterrows())
        parts.append(f"{group} ({g['score']:.0%} of rows pass; {named})")
    return (f"FAIL: {len(failing)} of {len(scores)} groups fall short: "
            + "; ".join(parts) + ".")
