"""What every check shares: its description, pass rule and the rows it returns."""

from __future__ import annotations

import math

ROW_COLUMNS = ["check", "group", "feature", "statistic", "real_value", "synthetic_value",
               "p_value", "threshold", "passed"]
ALL_FEATURES = "(all)"


def row(check: Check, feature: str, statistic: float, *, real=None, synthetic=None,
        p_value=None, threshold=None, passed: bool) -> dict:
    """One tidy result row."""
    def num(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    return {"check": check.name, "group": check.group, "feature": feature,
            "statistic": num(statistic), "real_value": num(real),
            "synthetic_value": num(synthetic), "p_value": num(p_value),
            "threshold": num(threshold), "passed": bool(passed)}


class NotApplicable(ValueError):
    """The data cannot support this check (e.g. too few windows or steps): ``evaluate`` skips
    it, says why in a warning and in the report's ``meta["skipped"]``."""


class Check:
    """Base of all checks: subclasses set the texts and implement :meth:`run`."""

    name = ""
    group = ""
    #: what the check tests and its statistic
    description = ""
    #: when a row passes
    rule = ""

    def run(self, data, options) -> list[dict]:  # pragma: no cover - interface
        raise NotImplementedError
