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
