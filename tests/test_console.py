"""A quiet, quick console: no Lightning chatter from fit, a CLI that does not import torch."""

import inspect
import json
import logging
import subprocess
import sys
import warnings

from tests.conftest import tiny_model


def test_cli_option_table_matches_the_estimator_signature():
    from tsvae._options import ESTIMATOR_OPTIONS, NOT_FLAGS
    from tsvae.estimator import TimeSeriesVAE

    parameters = [p for name, p in inspect.signature(TimeSeriesVAE.__init__).parameters.items()
                  if name != "self" and name not in NOT_FLAGS]
    assert [o.name for o in ESTIMATOR_OPTIONS] == [p.name for p in parameters]
    for option, parameter in zip(ESTIMATOR_OPTIONS, parameters, strict=True):
        assert option.default == parameter.default, option.name
        if parameter.default is not None:
            assert isinstance(parameter.default, option.kind), option.name


def test_cli_and_package_import_without_torch():
    code = ("import sys, json, tsvae, tsvae.cli; tsvae.cli.build_parser(); "
            "print(json.dumps([m in sys.modules for m in ('torch', 'pytorch_lightning', "
            "'pandas')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == [False, False, False]


def test_lazy_package_attributes_resolve():
    import tsvae

    assert tsvae.TimeSeriesVAE.__name__ == "TimeSeriesVAE"
    assert callable(tsvae.evaluate) and callable(tsvae.compare_methods)
    assert {"TimeSeriesVAE", "datasets", "evaluate"} <= set(dir(tsvae))


def test_fit_keeps_lightning_chatter_out(energy_small, caplog):
    root = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    level = root.level
    root.setLevel(logging.INFO)  # conftest silences Lightning; undo it for this test
    try:
        with caplog.at_level(logging.INFO), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tiny_model(max_epochs=1).fit(energy_small.iloc[:200])
    finally:
        root.setLevel(level)
    text = "\n".join(r.getMessage() for r in caplog.records)
    for chatter in ("GPU available", "TPU available", "litlogger", "`Trainer.fit` stopped"):
        assert chatter not in text
    assert not [w for w in caught if "LeafSpec" in str(w.message)]
    # Nothing outlives the call: the filter is gone from Lightning's logger.
    assert not root.filters


def test_evaluate_shows_progress_only_when_watched(monkeypatch, capsys, caplog):
    import tsvae
    import tsvae._quiet

    real = tsvae.datasets.make_sines(60, length=12, n_features=2, random_state=0)
    other = tsvae.datasets.make_sines(60, length=12, n_features=2, random_state=1)
    monkeypatch.setattr(tsvae._quiet, "interactive", lambda: False)
    with caplog.at_level(logging.INFO, logger="tsvae.evaluation.evaluate"):
        tsvae.evaluate(real, other, checks=["ks"], plots_in_report=False)
    assert "evaluate" not in capsys.readouterr().err
    assert "running check ks (marginal)" in caplog.text
    monkeypatch.setattr(tsvae._quiet, "interactive", lambda: True)
    tsvae.evaluate(real, other, checks=["ks"], plots_in_report=False)
    captured = capsys.readouterr()
    assert "evaluate" in captured.err and "evaluate" not in captured.out
