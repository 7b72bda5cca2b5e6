"""The ``featlearn`` command line: a thin layer over the library (DESIGN section 9).

Every error featlearn raises on purpose (bad parameter, malformed file, numerical trouble) and
every usage error prints one line to stderr and exits with status 2; a failure of the machine
(disk full, ...) prints one line and exits with status 1; never a traceback (see ``main``).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Annotated

import typer

from featlearn._cli._common import NOTHING_TO_FINALISE
from featlearn._cli._fit import fit, learners, targets
from featlearn._cli._reproduce import reproduce
from featlearn._cli._sweep import export, report, store_check, store_repair, sweep
from featlearn._errors import FeatlearnError, RuntimeFailure

app = typer.Typer(
    name="featlearn",
    rich_markup_mode=None,  # plain help: boolean flags read "--json", not "--json <bool>"
    help=(
        "Two-layer networks learn the few directions a multi-index target depends on; kernels "
        "cannot. Fit learners, run sweeps, and reproduce the sample-complexity claims."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _command in (fit, targets, learners, sweep, report, export, reproduce):
    app.command()(_command)


def _version(value: bool) -> None:
    if value:
        from featlearn import __version__

        typer.echo(f"featlearn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    cache_dir: Annotated[
        str | None,
        typer.Option(
            "--cache-dir",
            help="Compilation cache folder: JAX's cache and featlearn's compiled executables "
            "('off' disables both); default: $FEATLEARN_CACHE_DIR or ~/.cache/featlearn/jax. "
            "Cached programs make later runs start in seconds.",
        ),
    ] = None,
) -> None:
    from featlearn._cache import ENV, configure_compilation_cache

    if cache_dir is not None:
        os.environ[ENV] = cache_dir  # sweep workers started from here inherit it
    configure_compilation_cache()


store_app = typer.Typer(
    help="Check a results store, or copy every readable cell of a damaged one into a new store.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")
store_app.command("check")(store_check)
store_app.command("repair")(store_repair)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"featlearn: error: {message}", err=True)
    raise SystemExit(code)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every failure ends in one line on stderr, never a traceback.

    Exit status 2: bad input (ConfigError, usage errors, numerical trouble in the user's setup);
    1: the machine failed (disk full, a store that cannot be written) or an unexpected error
    (``FEATLEARN_TRACEBACK=1`` shows its traceback); 128 + N: stopped by signal N (SIGINT,
    SIGTERM, SIGHUP), after keeping every cell already stored.

    Run as the program (``argv`` None), a command that holds nothing to finalise (``fit``) ends
    the process as soon as its output is flushed.
    """
    from featlearn.runtime import Interrupted, SweepInterrupted, handle_signals

    try:
        with handle_signals():
            code = app(args=argv, standalone_mode=False)
    except SweepInterrupted as exc:
        _fail(str(exc), 128 + exc.signum)
    except Interrupted as exc:
        _fail(str(exc), 128 + exc.signum)
    except KeyboardInterrupt:
        _fail("interrupted by SIGINT", 130)
    except RuntimeFailure as exc:
        _fail(_first_line(exc), 1)
    except FeatlearnError as exc:
        _fail(_first_line(exc))
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        _fail("interrupted", 130)
    except Exception as exc:
        _unexpected(exc)
    if isinstance(code, int) and code:  # typer.Exit(n) returns n when not standalone
        raise SystemExit(code)
    if argv is None and NOTHING_TO_FINALISE["set"]:  # the program, not a caller's main([...])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _unexpected(exc: Exception) -> None:
    # click's usage errors (typer may vendor its own click): they carry format_message()
    if hasattr(exc, "format_message"):
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
            raise SystemExit(0) from None
        _fail(exc.format_message().splitlines()[0])
    if os.environ.get("FEATLEARN_TRACEBACK"):
        raise exc
    if isinstance(exc, OSError | sqlite3.Error | MemoryError):
        _fail(f"{type(exc).__name__}: {_first_line(exc)}", 1)
    _fail(
        f"unexpected {type(exc).__name__}: {_first_line(exc)} "
        "(FEATLEARN_TRACEBACK=1 shows the traceback; please report it)",
        1,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
