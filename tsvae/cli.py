"""Command-line interface: ``tsvae fit | generate | evaluate | compare | demo``.

Estimator options come from a static table (``tsvae._options``) that a test checks against
``TimeSeriesVAE``'s signature: the defaults live in one place and ``--help`` does not import
torch. User errors print one line to stderr and exit 2 (``--debug`` shows the traceback).
Every output path is checked before any work; SIGINT and SIGTERM end the command with
"interrupted" and exit 130 / 143, after the writers have removed their temporary files.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from tsvae._options import ESTIMATOR_OPTIONS
from tsvae._version import __version__


def _estimator_options():
    return list(ESTIMATOR_OPTIONS)


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _parse_bool(text: str) -> bool:
    # bool("false") is True: spell the words out.
    if text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    raise ValueError(text)


def _parse_optional(kind):
    convert = _parse_bool if kind is bool else kind

    def parse(text: str):
        return None if text.lower() == "none" else convert(text)
    parse.__name__ = "true/false" if kind is bool else kind.__name__
    return parse


def _add_estimator_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model options (defaults: TimeSeriesVAE's)")
    for param in _estimator_options():
        default, kind = param.default, param.kind
        group.add_argument(f"--{param.name.replace('_', '-')}", dest=param.name,
                           type=_parse_optional(kind), default=argparse.SUPPRESS,
                           help=f"default: {default!r}")


def _load_config(path: str | None) -> dict:
    if path is None:
        return {}
    from tsvae.io import read_config

    config = read_config(path)  # size-capped, YAML aliases refused
    if not isinstance(config, dict):
        raise ValueError(f"Config {path!r} must map parameter names to values.")
    allowed = {p.name for p in _estimator_options()}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"Config {path!r} has unknown parameter {unknown[0]!r}; known: "
                         f"{sorted(allowed)}.")
    return config


def cmd_fit(args) -> int:
    from tsvae.estimator import TimeSeriesVAE
    from tsvae.io import check_outputs

    check_outputs([args.output], [args.data, args.config], overwrite=args.overwrite)
    params = _load_config(args.config)
    params.update({p.name: getattr(args, p.name) for p in _estimator_options()
                   if hasattr(args, p.name)})
    columns = args.columns.split(",") if args.columns else None
    conditions = args.condition_cols.split(",") if args.condition_cols else None
    model = TimeSeriesVAE(progress_bar=not args.no_progress, **params)
    # fit reads the file itself: plain Parquet goes straight into the training array.
    model.fit(args.data, columns=columns, time_col=args.time_col, id_col=args.id_col,
              condition_cols=conditions)
    # Created without replacing unless --overwrite, even if the file appeared during training.
    model.save(args.output, overwrite=args.overwrite)
    print(f"trained {model.n_epochs_} epoch(s) on {len(model.columns_)} feature(s); "
          f"saved {args.output}")
    return 0


def cmd_generate(args) -> int:
    from tsvae.estimator import TimeSeriesVAE
    from tsvae.io import check_outputs, write_table

    check_outputs([args.output], [args.model], overwrite=args.overwrite)
    model = TimeSeriesVAE.load(args.model)
    options = {k: getattr(args, k) for k in ("method", "noise_scale") if hasattr(args, k)}
    if args.means:
        options["observation_noise"] = False
    if args.condition:
        options["conditions"] = _parse_conditions(model, args.condition)
    if args.match_residuals and args.series_length is not None:
        raise ValueError("--match-residuals applies to windows, not to --series-length; "
                         "drop one of them.")
    if args.start is not None and args.series_length is not None:
        raise ValueError("--start dates windows; a --series-length series continues the "
                         "training data's own timestamps. Drop one of them.")
    if args.series_length is not None:
        frame = model.generate_series(args.series_length, random_state=args.seed, **options)
        write_table(frame, args.output, overwrite=args.overwrite, index=True,
                    escape=args.csv_escape)
        print(f"wrote a series of {len(frame)} rows to {args.output}")
    else:
        if args.n is None:
            raise ValueError("Pass -n (number of windows) or --series-length.")
        frame = model.generate(args.n, random_state=args.seed,
                               match_residuals=args.match_residuals, start=args.start,
                               **options)
        write_table(frame, args.output, overwrite=args.overwrite, escape=args.csv_escape)
        print(f"wrote {args.n} windows to {args.output}")
    return 0


def _parse_conditions(model, pairs: list) -> dict:
    """``KEY=VALUE`` flags -> a conditions dict, values typed like the model's categories."""
    encoder = model.condition_encoder_
    if encoder is None:
        raise ValueError("--condition applies to models fitted with --condition-cols; this one "
                         "has no conditions.")
    conditions = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--condition {pair!r} must look like KEY=VALUE.")
        if key not in encoder.categories:
            raise ValueError(f"--condition {key!r} is not a condition of this model; its "
                             f"conditions are {encoder.columns!r}.")
        categories = encoder.categories[key]
        if categories is None:
            try:
                conditions[key] = float(text)
            except ValueError:
                raise ValueError(f"--condition {key}={text!r}: {key!r} is a number.") from None
            continue
        matches = [c for c in categories if str(c) == text]
        if not matches:
            raise ValueError(f"--condition {key}={text!r}: allowed values are "
                             f"{[str(c) for c in categories]!r}.")
        conditions[key] = matches[0]
    return conditions


def _write_report(report, args) -> None:
    if args.report:
        report.to_html(args.report, overwrite=args.overwrite)
        print(f"report: {args.report}")


def cmd_evaluate(args) -> int:
    from tsvae.evaluation import evaluate
    from tsvae.io import check_outputs, read_table

    check_outputs([args.report, args.json], [args.real, args.synthetic],
                  overwrite=args.overwrite)
    real = read_table(args.real, time_col=args.time_col)
    synthetic = read_table(args.synthetic,
                           time_col=args.time_col if args.time_col in _columns(args.synthetic)
                           else None)
    report = evaluate(real, synthetic, args.n_past, checks=args.checks, fast=args.fast,
                      random_state=args.seed, progress=None if not args.no_progress else False,
                      plots_in_report=bool(args.report),
                      by=args.by.split(",") if args.by else None)
    print(report.to_markdown() if args.verbose else repr(report))
    _write_report(report, args)
    if args.json:
        report.to_json(args.json, overwrite=args.overwrite)
        print(f"summary: {args.json}")
    return 1 if (args.fail_on_fail and not report.passed) else 0


def _columns(path) -> list:
    import pandas as pd

    try:
        return list(pd.read_csv(path, nrows=0).columns) if str(path).endswith(".csv") else []
    except (OSError, ValueError):
        return []


def cmd_compare(args) -> int:
    from tsvae.estimator import TimeSeriesVAE
    from tsvae.evaluation import compare_methods
    from tsvae.io import check_outputs, read_table

    check_outputs([args.report], [args.model, args.real], overwrite=args.overwrite)
    model = TimeSeriesVAE.load(args.model)
    real = read_table(args.real, time_col=args.time_col)
    if model.columns_ and set(model.columns_) <= set(real.columns):
        real = real[model.columns_]
    result = compare_methods(model, real, n=args.n, fast=args.fast, random_state=args.seed,
                             checks=args.checks,
                             plots_in_report=bool(args.report),
                             observation_noise=not args.means,
                             progress=None if not args.no_progress else False)
    print(result.to_markdown())
    if args.report:
        result.to_html(args.report, overwrite=args.overwrite)
        print(f"report: {args.report}")
    return 0


def cmd_demo(args) -> int:
    from tsvae.demo import run_demo

    print("tsvae demo: fitting an LSTM VAE on the bundled energy data (19,734 rows x 28 "
          "features, 10-minute steps)...")
    result = run_demo(args.output_dir, max_epochs=args.max_epochs, max_time=args.max_time,
                      progress_bar=not args.no_progress)
    print(f"trained {result.model.n_epochs_} epoch(s) in {result.fit_seconds:.0f} s")
    for path in result.files:
        print(f"wrote {path}")
    print("\nReal vs synthetic windows (every method draws the observation model, like with "
          "like): per-feature mean, std and lag-1 autocorrelation")
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3g}".format):
        print(result.summary.to_string())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsvae", description="Synthetic multivariate time series with sequence VAEs.",
        epilog="Example: tsvae fit data.csv --time-col date --n-past 24 -o model.tsvae")
    parser.add_argument("--version", action="version", version=f"tsvae {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, help_text, example):
        p = sub.add_parser(name, help=help_text, description=help_text,
                           epilog=f"Example: {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        return p

    fit = add("fit", "Train a model on a CSV or Parquet file and save it.",
              "tsvae fit energy.csv --time-col date --n-past 24 --max-epochs 30 -o energy.tsvae")
    fit.add_argument("data", help="CSV or Parquet file, one row per time step")
    fit.add_argument("-o", "--output", required=True, help="model file to write")
    fit.add_argument("--time-col", help="timestamp column")
    fit.add_argument("--id-col", help="series id column (long/panel data)")
    fit.add_argument("--columns", help="comma-separated feature columns (default: all others)")
    fit.add_argument("--condition-cols",
                     help="comma-separated condition columns (labels or static attributes)")
    fit.add_argument("--config", help="YAML or JSON file of model options (flags override)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _add_estimator_flags(fit)
    fit.set_defaults(func=cmd_fit)

    gen = add("generate", "Generate synthetic windows (or one long series) from a model.",
              "tsvae generate energy.tsvae -n 1000 --method aggregate --seed 0 -o synth.csv")
    gen.add_argument("model", help="model file written by 'tsvae fit'")
    gen.add_argument("-n", type=int, help="number of windows")
    gen.add_argument("--method", default=argparse.SUPPRESS,
                     help="aggregate, prior, posterior or noisy_posterior (default: aggregate, "
                          "the best fresh-sample method in the prior-vs-posterior study)")
    gen.add_argument("--means", action="store_true",
                     help="decoded means instead of draws of the observation model")
    gen.add_argument("--match-residuals", action="store_true",
                     help="prior/aggregate: take each window's residual from a training "
                          "window whose posterior covers its z (harder to detect, but near-"
                          "copies of training windows: see docs/concepts.md)")
    gen.add_argument("--noise-scale", type=float, default=argparse.SUPPRESS,
                     help="posterior noise multiplier of noisy_posterior (default: 1.0)")
    gen.add_argument("--series-length", type=int,
                     help="roll a conditional model (n_future > 0) into one series of L rows")
    gen.add_argument("--start", metavar="DATE",
                     help="date every window's steps from DATE (e.g. '2024-01-01 00:00') at "
                          "the training data's frequency")
    gen.add_argument("--seed", type=int, help="random seed (same seed, same output)")
    gen.add_argument("--condition", action="append", metavar="KEY=VALUE",
                     help="generate for this condition (repeat for several columns)")
    gen.add_argument("-o", "--output", required=True, help="CSV or Parquet file to write")
    gen.add_argument("--csv-escape", action=argparse.BooleanOptionalAction, default=True,
                     help="put ' before CSV header and text cells starting with = + - @ tab "
                          "or CR, so that a spreadsheet does not run them as formulas "
                          "(default: on; numbers are never changed)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing output")
    gen.set_defaults(func=cmd_generate)

    ev = add("evaluate", "Run the statistical checks on real vs synthetic data.",
             "tsvae evaluate energy.csv synth.csv --time-col date --n-past 24 "
             "--report report.html --fail-on-fail")
    ev.add_argument("real", help="real data: a series file or a windows file")
    ev.add_argument("synthetic", help="synthetic data: 'tsvae generate' output or a series")
    ev.add_argument("--n-past", type=int, help="window length for series files")
    ev.add_argument("--time-col", help="timestamp column of series files")
    ev.add_argument("--checks", nargs="+", help="check names or groups (default: all)")
    ev.add_argument("--fast", action="store_true", help="smaller samples, quicker")
    ev.add_argument("--by", help="comma-separated condition column(s): checks per value and "
                                 "condition fidelity")
    ev.add_argument("--seed", type=int, default=0, help="random seed of the checks")
    ev.add_argument("--report", help="write an HTML report here")
    ev.add_argument("--json", help="write a JSON summary here")
    ev.add_argument("--fail-on-fail", action="store_true", help="exit 1 when the verdict fails")
    ev.add_argument("--verbose", action="store_true", help="print every row")
    ev.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    ev.set_defaults(func=cmd_evaluate)

    cmp_ = add("compare", "Compare the generation methods of a model side by side.",
               "tsvae compare energy.tsvae energy.csv --time-col date --report compare.html")
    cmp_.add_argument("model")
    cmp_.add_argument("real")
    cmp_.add_argument("--time-col", help="timestamp column of the real file")
    cmp_.add_argument("-n", type=int, help="windows per method (default: as many as real)")
    cmp_.add_argument("--fast", action="store_true", help="smaller samples, quicker")
    cmp_.add_argument("--seed", type=int, default=0)
    cmp_.add_argument("--checks", nargs="+",
                      help="check names or groups (default: all, the strongest detectors too)")
    cmp_.add_argument("--means", action="store_true",
                      help="compare decoded means (default: every method draws the "
                           "observation model)")
    cmp_.add_argument("--report", help="write an HTML report here")
    cmp_.add_argument("--overwrite", action="store_true")
    cmp_.set_defaults(func=cmd_compare)

    demo = add("demo", "Fit on the bundled energy data, generate, and print a comparison. "
               "Re-running replaces the demo's own files (energy.tsvae, synthetic_*.csv) in "
               "its output folder.", "tsvae demo --output-dir demo_output")
    demo.add_argument("--output-dir", default="demo_output",
                      help="folder of the demo's files (created; its demo files replaced)")
    demo.add_argument("--max-epochs", type=int, default=20)
    demo.add_argument("--max-time", type=float, default=150.0, help="seconds")
    demo.set_defaults(func=cmd_demo)
    return parser


class _Signals:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread while a command runs, so
    that every writer's cleanup (``except BaseException``/``finally``) removes its temporary
    file; the signal received is kept for the exit status."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict = {}

    def _raise(self, signum, frame) -> None:
        self.received = signum
        raise KeyboardInterrupt

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._raise)
            except ValueError:  # not the main thread (main() called from a thread)
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _interrupted(signals: _Signals) -> int:
    print("tsvae: interrupted; no output file was written.", file=sys.stderr)
    return 128 + (signals.received or signal.SIGINT)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.no_progress:
        for name in ("pytorch_lightning", "lightning.pytorch"):
            logging.getLogger(name).setLevel(logging.ERROR)
    with _Signals() as signals:
        try:
            return args.func(args)
        except KeyboardInterrupt:
            return _interrupted(signals)
        except SystemExit:
            # Lightning catches KeyboardInterrupt inside fit and calls sys.exit(1).
            if signals.received is not None:
                return _interrupted(signals)
            raise
        except (ValueError, TypeError, FileNotFoundError, RuntimeError, OSError,
                OverflowError) as err:
            if args.debug:
                raise
            # One line, whatever the error (YAML parser messages span several).
            print(f"tsvae: error: {' '.join(str(err).split())}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
