import json
import subprocess
import sys

import pytest

from fc_finetune.cli import main, make_parser


def _subcommands(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subcommands(sub, (*prefix, name))


def test_every_option_has_help():
    parser = make_parser()
    for path, sub in [((), parser), *_subcommands(parser)]:
        for action in sub._actions:
            if action.option_strings or action.__class__.__name__ != "_SubParsersAction":
                assert action.help, f"{' '.join(path)} {action.dest} has no help"


@pytest.mark.parametrize("argv", [["--help"], ["models", "--help"], ["models", "fetch", "--help"],
                                  ["data", "fetch-bfcl", "--help"], ["demo", "--help"]])
def test_help_exits_zero(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: fc-finetune" in capsys.readouterr().out


def test_input_error_is_one_line_and_exit_2(capsys):
    assert main(["models", "fetch", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "fc-finetune: error: Unknown model alias 'no-such-model'" in err
    assert "Traceback" not in err


def test_models_list_and_path(capsys):
    assert main(["models", "list"]) == 0
    assert "smollm2-135m" in capsys.readouterr().out
    assert main(["models", "path", "smollm2-135m"]) == 1
    assert "models fetch smollm2-135m" in capsys.readouterr().out


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "fc_finetune", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("fc-finetune ")


# ------------------------------------------------------------------ the error boundary of cli.main
@pytest.fixture
def boundary(monkeypatch, tmp_path):
    """``data validate`` made to raise the given exception, with FC_FINETUNE_DEBUG unset (as a
    user runs it). Returns ``run(exc, *flags) -> (status, stderr)``."""
    import io

    from fc_finetune.commands import data as data_cmd

    monkeypatch.delenv("FC_FINETUNE_DEBUG", raising=False)

    def run(exc, *flags):
        def fail(args):
            raise exc

        monkeypatch.setattr(data_cmd, "_validate", fail)
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        status = main([*flags, "data", "validate", str(tmp_path / "x.jsonl")])
        return status, err.getvalue()

    return run


def test_unexpected_exception_is_one_line_exit_1(boundary):
    status, err = boundary(TypeError("unsupported operand\ntype(s)"))
    assert status == 1
    assert err.strip() == ("fc-finetune: error: internal error: TypeError: unsupported operand type(s) "
                           "(a bug: rerun with --debug for the traceback and report it)")


@pytest.mark.parametrize(("exc", "expected"), [
    (PermissionError(13, "Permission denied", "/data/x.jsonl"),
     "'/data/x.jsonl': Permission denied; check its permissions, or choose another path"),
    (IsADirectoryError(21, "Is a directory", "out"), "'out': Is a directory; it is a folder: name a file"),
    (FileNotFoundError(2, "No such file or directory", "a.yaml"), "'a.yaml': No such file or directory; check the path"),
    (OSError(28, "No space left on device", "big.bin"), "'big.bin': No space left on device; free some space"),
    (UnicodeDecodeError("utf-8", b"ab\xff", 2, 3, "invalid start byte"),
     r"a file is not UTF-8 text (invalid start byte: bytes b'\xff' at offset 2); re-encode it as UTF-8"),
    (MemoryError(), "out of memory"),
    (RecursionError("maximum recursion depth exceeded"), "input nested too deeply to process"),
    (json.JSONDecodeError("Expecting value", '{"a": }', 6), "malformed JSON (line 1, column 7): Expecting value"),
])
def test_input_and_environment_failures_are_one_line_exit_2(boundary, exc, expected):
    status, err = boundary(exc)
    assert status == 2
    assert err.startswith(f"fc-finetune: error: {expected}") and err.count("\n") == 1, err


def test_yaml_error_names_its_place(boundary):
    import yaml

    try:
        yaml.safe_load("a: [1, 2")
    except yaml.YAMLError as exc:
        error = exc
    status, err = boundary(error)
    assert status == 2 and err.startswith("fc-finetune: error: invalid YAML: <unicode string> line 1, column 9: ")
    assert err.count("\n") == 1


def test_interrupt_and_broken_pipe(boundary, monkeypatch):
    import io

    assert boundary(KeyboardInterrupt())[0] == 130

    class ClosedPipe(io.StringIO):
        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert boundary(BrokenPipeError(32, "Broken pipe")) == (141, "")


def test_debug_flag_and_env_let_exceptions_propagate(boundary, monkeypatch):
    from fc_finetune.errors import DataError

    with pytest.raises(TypeError):
        boundary(TypeError("boom"), "--debug")
    with pytest.raises(DataError):
        boundary(DataError("bad"), "--debug")
    monkeypatch.setenv("FC_FINETUNE_DEBUG", "1")
    with pytest.raises(TypeError):  # the suite's setting: a bug fails its test with a traceback
        boundary(TypeError("boom"))
    assert boundary(DataError("bad record", source="x.jsonl"))[0] == 2  # input errors stay one line


def test_suite_runs_with_debug_env():
    import os

    assert os.environ.get("FC_FINETUNE_DEBUG") == "1"
