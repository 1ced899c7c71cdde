"""The ``fc-finetune`` command: one sub-command per job.

    fc-finetune train --config recipes/smollm2-135m/quickstart.yaml
    fc-finetune models fetch smollm2-135m     # the bundled model, offline afterwards
    fc-finetune data fetch-bfcl               # BFCL evaluation data into the cache
    fc-finetune push --model DIR --repo-id USER/NAME   # adapter + heads + card to the Hub
    fc-finetune demo                          # the main job on the bundled default

Every sub-command has ``--help``. Errors caused by input print one clear line (no
traceback) and exit with status 2; ``--debug`` shows the traceback as well.

:func:`main` is the one error boundary: a :class:`~fc_finetune.errors.FcFinetuneError`
prints its message; any other exception is turned into one line by :func:`describe_failure`
(an OSError names its path and a fix, a YAML or JSON error its place; status 2), and what is
left is reported as ``internal error: TYPE: message`` with a request to rerun with ``--debug``
and report it (status 1). Ctrl-C exits with 130. ``--debug`` lets every exception propagate
with its traceback; ``FC_FINETUNE_DEBUG=1`` in the environment lets every exception but the
input errors propagate (the test suite sets it, so a bug fails its test with a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import sys

from . import __version__
from .commands import calibrate as calibrate_cmd
from .commands import chat as chat_cmd
from .commands import data as data_cmd
from .commands import demo as demo_cmd
from .commands import eval as eval_cmd
from .commands import export as export_cmd
from .commands import models as models_cmd
from .commands import push as push_cmd
from .commands import train as train_cmd
from .errors import FcFinetuneError
from .utils.outputs import input_scope
from .utils.safe_json import JSONLimitError

DEBUG_ENV = "FC_FINETUNE_DEBUG"  # set (e.g. by the test suite): unexpected exceptions propagate
_BUG_HINT = "(a bug: rerun with --debug for the traceback and report it)"
COMMANDS = (train_cmd, eval_cmd, chat_cmd, calibrate_cmd, models_cmd, data_cmd, push_cmd, export_cmd, demo_cmd)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fc-finetune",
        description="Fine-tune a causal LM to call functions (LoRA + selector and argument heads).",
    )
    parser.add_argument("--version", action="version", version=f"fc-finetune {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="Verbosity of the log written to stderr (default: INFO).")
    parser.add_argument("--debug", action="store_true", help="Show full tracebacks for input errors too.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    # Libraries chatter at INFO; keep ours at the requested level and theirs at WARNING.
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))


def main(argv: list[str] | None = None) -> int:
    """Run one command; the error boundary of the whole program (module doc)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # until the arguments are parsed
    try:
        parser = make_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "passthrough", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra  # a command with its own option parser (train) reads them
        debug = args.debug
        setup_logging(args.log_level)
        with input_scope():  # outputs are checked against every input the command reads
            return int(args.func(args) or 0)
    except FcFinetuneError as exc:
        if debug:
            raise
        print(f"fc-finetune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fc-finetune: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug or os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no"):
            raise
        message, status = describe_failure(exc)
        if message:
            print(f"fc-finetune: error: {message}", file=sys.stderr)
        return status


def _one_line(text: object, limit: int = 400) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _os_failure(exc: OSError) -> str:
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(f"'{os.fsdecode(p) if isinstance(p, bytes) else p}'" for p in paths)
    reason = exc.strerror or _one_line(exc) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space or write to another disk"
    elif isinstance(exc, PermissionError):
        hint = "check its permissions, or choose another path"
    elif isinstance(exc, IsADirectoryError):
        hint = "it is a folder: name a file"
    elif isinstance(exc, NotADirectoryError):
        hint = "a part of the path is a file, not a folder"
    elif isinstance(exc, FileNotFoundError):
        hint = "check the path"
    elif exc.errno == errno.EROFS:
        hint = "the file system is read-only: choose another path"
    else:
        hint = ""
    return "; ".join(part for part in (f"{where}: {reason}" if where else reason, hint) if part)


def _stdout_is_closed() -> bool:
    """True when stdout's reader went away (``| head``); stdout then points at /dev/null, so
    Python's own flush at exit does not fail a second time."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return True
    except (OSError, ValueError):
        return False
    return False


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """(the one line to print, the exit status) for an exception no command turned into an
    :class:`FcFinetuneError`: status 2 for what the input or the machine caused (files,
    permissions, encodings, malformed JSON or YAML, memory, nesting), 1 for anything else,
    which is a bug. Broken pipes (output piped into ``head``) end quietly with 141."""
    if isinstance(exc, BrokenPipeError) and _stdout_is_closed():
        return "", 141
    if isinstance(exc, OSError):
        return _os_failure(exc), 2
    if isinstance(exc, UnicodeDecodeError):
        bad = exc.object[exc.start:exc.start + 4]
        return (f"a file is not UTF-8 text ({exc.reason}: bytes {bad!r} at offset {exc.start}); "
                "re-encode it as UTF-8"), 2
    if isinstance(exc, UnicodeEncodeError):
        if "surrogate" in exc.reason:
            return ("the text holds a lone UTF-16 surrogate (an escape such as \\ud800 in the input), which "
                    "cannot be written as UTF-8; fix that text in the input"), 2
        return (f"cannot write text in the {exc.encoding!r} encoding ({exc.reason}); "
                "set PYTHONIOENCODING=utf-8 or use a UTF-8 locale"), 2
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller input (--limit) or a smaller batch, or a machine with more memory", 2
    if isinstance(exc, RecursionError):
        return ("input nested too deeply to process; simplify it (if it is not deeply nested, this is "
                f"{_BUG_HINT[1:-1]})"), 2
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", 2
    if isinstance(exc, JSONLimitError):
        return _one_line(exc), 2
    yaml_error = _yaml_failure(exc)
    if yaml_error is not None:
        return yaml_error, 2
    return f"internal error: {type(exc).__name__}: {_one_line(exc)} {_BUG_HINT}", 1


def _yaml_failure(exc: BaseException) -> str | None:
    yaml = sys.modules.get("yaml")  # only loaded when a YAML file was read
    if yaml is None or not isinstance(exc, yaml.YAMLError):
        return None
    mark = getattr(exc, "problem_mark", None)
    where = f"{mark.name} line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or _one_line(exc)
    return f"invalid YAML: {where}{_one_line(problem)}"


if __name__ == "__main__":
    sys.exit(main())
