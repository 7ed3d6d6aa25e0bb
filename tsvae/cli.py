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


#: Estimator options that have a second, shared spelling: the one seed flag of every command.
_ALIASES = {"random_state": ("--seed",)}


def _add_estimator_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model options (defaults: TimeSeriesVAE's)")
    for param in _estimator_options():
        default, kind = param.default, param.kind
        flags = [*_ALIASES.get(param.name, ()), f"--{param.name.replace('_', '-')}"]
        if kind is bool:
            # --x / --no-x, like every other switch of the command line
            group.add_argument(*flags, dest=param.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=f"default: {default!r}")
            continue
        # argparse shows the choices in place of the value: --architecture {lstm,conv}
        group.add_argument(*flags, dest=param.name, type=_parse_optional(kind),
                           choices=param.choices, default=argparse.SUPPRESS,
                           help=f"default: {default!r}")


def _switch(parser, name: str, help_text: str, default=False) -> None:
    """A ``--name / --no-name`` switch."""
    parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=default,
                        help=help_text)


def _seed_flag(parser, default=None, help_text="random seed (same seed, same output)") -> None:
    """The one seed flag of every command; ``--random-state`` is the same flag."""
    parser.add_argument("--seed", "--random-state", dest="seed", type=int, default=default,
                        help=help_text)


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
    model = TimeSeriesVAE(progress_bar=args.progress is not False, **params)
    # fit reads the file itself: plain Parquet goes straight into the training array.
    model.fit(args.data, columns=columns, time_col=args.time_col, id_col=args.id_col,
              condition_cols=conditions)
    # Created without replacing unless --overwrite, even if the file appeared during training.
    model.save(args.output, overwrite=args.overwrite,
               keep_training_data=args.keep_training_data)
    elbo = model.history_.get("held_out_elbo_per_value")
    held_out = "" if elbo is None else f", held-out ELBO {elbo:.3f} nats per value"
    print(f"trained {model.n_epochs_} epoch(s) on {len(model.columns_)} feature(s){held_out}; "
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
    if args.start is not None and args.series_length is not None:
        raise ValueError("--start dates windows; a --series-length series continues the "
                         "training data's own timestamps. Drop one of them.")
    if args.context is not None:  # the past an n_future model continues
        from tsvae.io import read_table

        options["context"] = read_table(args.context, time_col=model.time_col_)
    if args.series_length is not None:
        if args.progress is not None:  # the bar of a long series (generate_series)
            model.progress_bar = bool(args.progress)
        frame = model.generate_series(args.series_length, random_state=args.seed, **options)
        write_table(frame, args.output, overwrite=args.overwrite, index=True,
                    escape=args.csv_escape)
        print(f"wrote a series of {len(frame)} rows to {args.output}")
    else:
        if args.n is None:
            raise ValueError("Pass -n (number of windows) or --series-length.")
        frame = model.generate(args.n, random_state=args.seed, start=args.start, **options)
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

    check_outputs([args.report, args.json], [args.real, args.synthetic, args.model],
                  overwrite=args.overwrite)
    model, by = None, args.by.split(",") if args.by else None
    n_past, time_col = args.n_past, args.time_col
    if args.model:
        from tsvae.estimator import TimeSeriesVAE
        from tsvae.evaluation.model_inputs import class_conditions

        model = TimeSeriesVAE.load(args.model)
        n_past = n_past or model.n_past
        time_col = time_col or model.time_col_
    real = read_table(args.real, time_col=time_col)
    synthetic = read_table(args.synthetic,
                           time_col=time_col if time_col in _columns(args.synthetic) else None)
    if model is not None:
        from tsvae.evaluation.model_inputs import real_for_model

        real = real_for_model(model, real)
        if by is None and class_conditions(model) and set(class_conditions(model)) <= set(
                synthetic.columns):
            by = class_conditions(model)
    report = evaluate(real, synthetic, n_past, checks=_checks(args), fast=args.fast,
                      random_state=args.seed, progress=args.progress,
                      plots_in_report=bool(args.report), by=by,
                      **({} if by else {"sources": _sources(args, real=args.real,
                                                            synthetic=args.synthetic)}))
    return _finish(report, args)


def _sources(args, **paths) -> dict:
    """Input files for the report's provenance: role -> path."""
    out = {f"{role} data": path for role, path in paths.items()}
    if getattr(args, "model", None):
        out["model"] = args.model
    return out


def _finish(report, args) -> int:
    """Print the report, write its files, and the exit status of evaluating commands."""
    print(report.to_markdown() if args.verbose else repr(report))
    _write_report(report, args)
    if args.json:
        report.to_json(args.json, overwrite=args.overwrite)
        print(f"summary: {args.json}")
    return 1 if (args.fail_on_fail and not report.passed) else 0


def cmd_check(args) -> int:
    from tsvae.estimator import TimeSeriesVAE
    from tsvae.evaluation import evaluate
    from tsvae.evaluation.model_inputs import class_conditions, real_for_model, sample_like
    from tsvae.io import check_outputs, read_table

    check_outputs([args.report, args.json], [args.model, args.data], overwrite=args.overwrite)
    if args.n is not None and args.n < 1:
        raise ValueError(f"-n must be a positive number of windows, got {args.n}.")
    model = TimeSeriesVAE.load(args.model)
    real = real_for_model(model, read_table(args.data, time_col=model.time_col_))
    synthetic = sample_like(model, real, args.n, method=args.method, random_state=args.seed,
                            observation_noise=not args.means)
    by = class_conditions(model) or None  # numeric conditions are continuous: no classes
    report = evaluate(real, synthetic, model.n_past, checks=_checks(args), fast=args.fast,
                      random_state=args.seed, progress=args.progress,
                      plots_in_report=bool(args.report), by=by,
                      **({} if by else {"sources": _sources(args, real=args.data)}))
    if by is None:
        report.meta.update({"method": args.method, "generation_seed": args.seed})
    return _finish(report, args)


def _columns(path) -> list:
    import pandas as pd

    try:
        return list(pd.read_csv(path, nrows=0).columns) if str(path).endswith(".csv") else []
    except (OSError, ValueError):
        return []


def cmd_compare(args) -> int:
    from tsvae.estimator import TimeSeriesVAE
    from tsvae.evaluation import compare_methods
    from tsvae.evaluation.model_inputs import real_for_model
    from tsvae.io import check_outputs, read_table

    check_outputs([args.report], [args.model, args.real], overwrite=args.overwrite)
    model = TimeSeriesVAE.load(args.model)
    real = read_table(args.real, time_col=args.time_col or model.time_col_)
    # A column the model needs but the data lacks fails here, before anything is generated.
    real = real_for_model(model, real)
    result = compare_methods(model, real, n=args.n, fast=args.fast, random_state=args.seed,
                             checks=_checks(args),
                             plots_in_report=bool(args.report),
                             observation_noise=not args.means,
                             progress=args.progress,
                             sources={"real data": args.real, "model": args.model})
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
                      progress_bar=args.progress is not False)
    print(f"trained {result.model.n_epochs_} epoch(s) in {result.fit_seconds:.0f} s")
    for path in result.files:
        print(f"wrote {path}")
    print("\nReal vs synthetic windows (every method draws from the decoder's likelihood, "
          "like with like): per-feature mean, std and lag-1 autocorrelation")
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3g}".format):
        print(result.summary.to_string())
    return 0


#: Generation methods (as ``tsvae.generation``; ``--help`` must not import torch).
METHODS = ("aggregate", "prior", "posterior", "noisy_posterior")


def _evaluation_flags(parser, *, fail_on_fail: bool = True, verbose: bool = True) -> None:
    """The flags every evaluating command shares."""
    parser.add_argument("--checks", nargs="+", metavar="CHECK",
                        help="check names, groups or sets (default: the set 'default', every "
                             "check but the TimeGAN GRU scores)")
    _switch(parser, "timegan", "also run the TimeGAN-protocol GRU scores (discriminative, "
                               "predictive): minutes on a CPU")
    _switch(parser, "fast", "smaller samples, quicker")
    _seed_flag(parser, default=0, help_text="random seed of the sampling and the checks "
                                            "(default: %(default)s)")
    parser.add_argument("--report", help="write an HTML report here")
    if fail_on_fail:
        _switch(parser, "fail-on-fail", "exit 1 when the verdict fails")
    if verbose:
        _switch(parser, "verbose", "print every row")
    _switch(parser, "overwrite", "replace existing outputs")


def _checks(args) -> list | None:
    """``--checks`` plus the TimeGAN set when ``--timegan``."""
    if not getattr(args, "timegan", False):
        return args.checks
    return [*(args.checks or ["default"]), "timegan"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsvae", description="Synthetic multivariate time series with sequence VAEs.",
        epilog="Example: tsvae fit data.csv --time-col date --n-past 24 -o model.tsvae")
    parser.add_argument("--version", action="version", version=f"tsvae {__version__}")
    _switch(parser, "debug", "show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, help_text, example):
        p = sub.add_parser(name, help=help_text, description=help_text,
                           epilog=f"Example: {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _switch(p, "debug", "show tracebacks on errors", default=argparse.SUPPRESS)
        _switch(p, "progress", "show progress bars (default: when run in a terminal; "
                "elsewhere each evaluation check logs its start and time, and a long "
                "--series-length its estimate and progress)", default=None)
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
    _switch(fit, "overwrite", "replace an existing output")
    _switch(fit, "keep-training-data",
            "also store the training windows' codes and each series' last rows (needed by "
            "'--method posterior' without data and by --series-length; they decode back to "
            "near-copies of the training data)")
    _add_estimator_flags(fit)
    fit.set_defaults(func=cmd_fit)

    gen = add("generate", "Generate synthetic windows (or one long series) from a model.",
              "tsvae generate energy.tsvae -n 1000 --method aggregate --seed 0 -o synth.csv")
    gen.add_argument("model", help="model file written by 'tsvae fit'")
    gen.add_argument("-n", type=int, help="number of windows")
    gen.add_argument("--method", default=argparse.SUPPRESS, choices=METHODS,
                     help="one of %(choices)s (default: aggregate, the best fresh-sample "
                          "method in the prior-vs-posterior study)")
    _switch(gen, "means", "decoded means instead of draws of the decoder's likelihood")
    gen.add_argument("--context",
                     help="CSV or Parquet file whose last n_past rows an --n-future model "
                          "continues (needed when the model file holds no training data)")
    gen.add_argument("--noise-scale", type=float, default=argparse.SUPPRESS,
                     help="posterior noise multiplier of noisy_posterior (default: 1.0)")
    gen.add_argument("--series-length", type=int,
                     help="roll a conditional model (n_future > 0) into one series of L rows")
    gen.add_argument("--start", metavar="DATE",
                     help="date every window's steps from DATE (e.g. '2024-01-01 00:00') at "
                          "the training data's frequency")
    _seed_flag(gen)
    gen.add_argument("--condition", action="append", metavar="KEY=VALUE",
                     help="generate for this condition (repeat for several columns)")
    gen.add_argument("-o", "--output", required=True, help="CSV or Parquet file to write")
    gen.add_argument("--csv-escape", action=argparse.BooleanOptionalAction, default=True,
                     help="put ' before CSV header and text cells starting with = + - @ tab "
                          "or CR, so that a spreadsheet does not run them as formulas "
                          "(default: on; numbers are never changed)")
    _switch(gen, "overwrite", "replace an existing output")
    gen.set_defaults(func=cmd_generate)

    ev = add("evaluate", "Run the statistical checks on real vs synthetic data.",
             "tsvae evaluate energy.csv synth.csv --model energy.tsvae "
             "--report report.html --fail-on-fail")
    ev.add_argument("real", help="real data: a series file or a windows file")
    ev.add_argument("synthetic", help="synthetic data: 'tsvae generate' output or a series")
    ev.add_argument("--model", help="model file: read the window length, time, id and "
                                    "condition columns from it (flags still override)")
    ev.add_argument("--n-past", type=int, help="window length for series files")
    ev.add_argument("--time-col", help="timestamp column of series files")
    _evaluation_flags(ev)
    ev.add_argument("--by", help="comma-separated condition column(s): checks per value and "
                                 "condition fidelity")
    ev.add_argument("--json", help="write a JSON summary here")
    ev.set_defaults(func=cmd_evaluate)

    chk = add("check", "Sample from a model and evaluate the samples against real data, in "
              "one step. The window length, time, id and condition columns come from the "
              "model file; exit codes as 'tsvae evaluate'.",
              "tsvae check energy.tsvae energy.csv --method aggregate -n 1000 "
              "--report check.html")
    chk.add_argument("model", help="model file written by 'tsvae fit'")
    chk.add_argument("data", help="real data (CSV or Parquet), as passed to 'tsvae fit'")
    chk.add_argument("--method", default="aggregate", choices=METHODS,
                     help="generation method, one of %(choices)s (default: %(default)s)")
    chk.add_argument("-n", type=int,
                     help="windows to generate (default: as many as the real data has, at "
                          "most 10,000)")
    _switch(chk, "means", "decoded means instead of draws of the decoder's likelihood")
    _evaluation_flags(chk)
    chk.add_argument("--json", help="write a JSON summary here")
    chk.set_defaults(func=cmd_check)

    cmp_ = add("compare", "Compare the generation methods of a model side by side.",
               "tsvae compare energy.tsvae energy.csv --time-col date --report compare.html")
    cmp_.add_argument("model", help="model file written by 'tsvae fit'")
    cmp_.add_argument("real", help="real data (CSV or Parquet) to compare each method with")
    cmp_.add_argument("--time-col", help="timestamp column of the real file (default: the "
                                         "model's)")
    cmp_.add_argument("-n", type=int, help="windows per method (default: as many as real)")
    _switch(cmp_, "means", "compare decoded means (default: every method draws from the "
                           "decoder's likelihood)")
    _evaluation_flags(cmp_, fail_on_fail=False, verbose=False)
    cmp_.set_defaults(func=cmd_compare)

    demo = add("demo", "Fit on the bundled energy data, generate, and print a comparison. "
               "Re-running replaces the demo's own files (energy.tsvae, synthetic_*.csv) in "
               "its output folder.", "tsvae demo --output-dir demo_output")
    demo.add_argument("--output-dir", default="demo_output",
                      help="folder of the demo's files (created; its demo files replaced)")
    demo.add_argument("--max-epochs", type=int, default=20,
                      help="training epochs at most (default: %(default)s)")
    demo.add_argument("--max-time", type=float, default=150.0,
                      help="training seconds at most (default: %(default)s)")
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


#: Errors that are the user's to fix: one line on stderr, exit 2.
_USER_ERRORS = (ValueError, TypeError, FileNotFoundError, RuntimeError, OSError, OverflowError)
#: Loggers that report each step of a long command (every evaluation check, its time).
_STEP_LOGGERS = ("tsvae.evaluation", "tsvae.generation.generate")


def main(argv=None) -> int:
    # The handlers come first: an interrupt while the arguments are read or a library is
    # imported is an interrupt too.
    signals = _Signals()
    try:
        with signals:
            return _main(argv, signals)
    except KeyboardInterrupt:
        return _interrupted(signals)


def _main(argv, signals: _Signals) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.progress is False:
        for name in ("pytorch_lightning", "lightning.pytorch"):
            logging.getLogger(name).setLevel(logging.ERROR)
    from tsvae._quiet import interactive

    loggers = {name: logging.getLogger(name) for name in _STEP_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    if not (args.progress or interactive()):
        # Nobody sees a progress bar: say what runs and how long it took instead.
        for logger in loggers.values():
            logger.setLevel(logging.INFO)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return _interrupted(signals)
    except SystemExit:
        # Lightning catches KeyboardInterrupt inside fit and calls sys.exit(1).
        if signals.received is not None:
            return _interrupted(signals)
        raise
    except Exception as err:
        if signals.received is not None:
            # A library turned the interrupt into an error of its own (numba while compiling).
            return _interrupted(signals)
        if args.debug or not isinstance(err, _USER_ERRORS):
            raise
        # One line, whatever the error (YAML parser messages span several).
        print(f"tsvae: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


if __name__ == "__main__":
    sys.exit(main())
