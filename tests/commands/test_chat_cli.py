"""``fc-finetune chat`` on a tiny model saved to disk: one query, the REPL, and clear errors."""

import builtins

import pytest
from helpers.agents import make

from fc_finetune.cli import main
from fc_finetune.inference.agent import FunctionCallingAgent
from fc_finetune.tools.registry import FunctionRegistry

PAINT = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "blue"]}},
         "required": ["colour"]}
PAINTED = []
REGISTRY = FunctionRegistry()  # what --tools test_chat_cli:REGISTRY imports
REGISTRY.add(lambda colour: PAINTED.append(colour) or f"painted {colour}", name="paint",
             description="Paint the wall.", schema=PAINT, isolation="thread")  # tests read PAINTED
NOT_A_REGISTRY = {"paint": None}
EMPTY = FunctionRegistry()
TOOLS = ["--tools", "test_chat_cli:REGISTRY"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny fc-finetune folder whose selector always calls, and its plain base folder."""
    from fc_finetune.data.templates import prepare_tokenizer
    from fc_finetune.testing import tiny_model_and_tokenizer

    root = tmp_path_factory.mktemp("chat")
    lm, tok = tiny_model_and_tokenizer("llama")
    lm.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")  # its own template ignores tools: chat attaches the built-in one
    prepare_tokenizer(tok)
    model, _ = make()
    model.base_model = str(root / "base")
    model.no_call_threshold = 1.01  # the untrained selector must call
    model.save_pretrained(root / "model", tokenizer=tok)
    return root


def chat(saved, *extra, folder="model"):
    return main(["chat", "--model", str(saved / folder), *TOOLS, "--max-new-tokens", "32", *extra])


def test_query_shows_the_calls_and_the_answer(saved, capsys):
    PAINTED.clear()
    assert chat(saved, "--query", "paint it red", "--max-calls", "2") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "user: paint it red"
    calls = [line for line in out if line.startswith("  -> call paint(")]
    results = [line for line in out if line.startswith("  <- ok (")]
    assert len(calls) == 2 and len(results) == 2 and len(PAINTED) == 2
    assert "call limit of 2 reached" in "\n".join(out)
    assert out[-1].startswith("assistant: ")
    shown = [line[:6] for line in out if line.startswith(("  -> ", "  <- "))]
    assert shown == ["  -> c", "  <- o"] * 2  # each result right after its call


def test_streamed_and_unstreamed_answers_agree(saved, capsys):
    args = ("--query", "hello", "--max-calls", "0", "--system", "Be brief.")
    assert chat(saved, *args) == 0
    streamed = capsys.readouterr().out
    assert chat(saved, *args, "--no-stream") == 0
    assert capsys.readouterr().out == streamed
    assert "-> call" not in streamed


def test_plain_model_runs_in_text_mode_and_refuses_heads(saved, capsys):
    assert chat(saved, "--query", "hello", folder="base") == 0
    out = capsys.readouterr().out
    assert out.startswith("user: hello\n") and "assistant: " in out
    assert chat(saved, "--query", "hello", "--mode", "heads", folder="base") == 2
    err = capsys.readouterr().err
    assert "--mode heads needs a model with a selector head" in err and "--mode text" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def feed(monkeypatch, lines):
    it = iter(lines)

    def fake_input(prompt=""):
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)


def test_repl_keeps_history_resets_lists_tools_and_exits(saved, capsys, monkeypatch):
    seen = []
    original = FunctionCallingAgent.chat

    def spy(self, messages, **kwargs):
        seen.append([m["role"] for m in messages])
        return original(self, messages, **kwargs)

    monkeypatch.setattr(FunctionCallingAgent, "chat", spy)
    feed(monkeypatch, ["/tools", "paint it blue", "", "and again", "/reset", "/nope", "hello", "/exit", "never read"])
    assert chat(saved, "--max-calls", "1", "--system", "S") == 0
    out = capsys.readouterr().out
    assert "  paint(colour): Paint the wall." in out
    assert out.count("  -> call paint(") == 3 and out.count("  <- ok (") == 3
    assert "(history cleared)" in out and "unknown command /nope" in out
    second = ["system", "user", "assistant", "tool", "assistant", "user"]
    assert seen == [["system", "user"], second, ["system", "user"]]


def test_repl_ends_cleanly_at_end_of_input(saved, capsys, monkeypatch):
    feed(monkeypatch, [])
    assert chat(saved, "--mode", "text") == 0
    assert "text mode, 1 tools" in capsys.readouterr().out


@pytest.mark.parametrize("spec, message", [
    ("test_chat_cli", "must be MODULE:NAME"),
    ("no_such_module_xyz:REGISTRY", "cannot import module 'no_such_module_xyz'"),
    ("test_chat_cli:MISSING", "has no attribute 'MISSING'"),
    ("test_chat_cli:NOT_A_REGISTRY", "is a dict, not a FunctionRegistry"),
    ("test_chat_cli:EMPTY", "has no functions"),
    ("os:system", "not a FunctionRegistry"),
])
def test_bad_tools_are_one_line_errors(saved, capsys, spec, message):
    assert main(["chat", "--model", str(saved / "model"), "--tools", spec, "--query", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"fc-finetune: error: --tools '{spec}'") and message in err
    assert len(err.splitlines()) == 1


def test_bad_numbers_are_refused(saved, capsys):
    assert chat(saved, "--timeout", "0", "--query", "x") == 2
    assert "--timeout must be" in capsys.readouterr().err


def test_heads_mode_needs_the_selector_head(tmp_path, saved, capsys):
    from fc_finetune.model.config import HeadArguments

    model, tok = make(heads=HeadArguments(selector_head=False))
    model.base_model = str(saved / "base")
    model.save_pretrained(tmp_path / "m", tokenizer=tok)
    assert main(["chat", "--model", str(tmp_path / "m"), "--mode", "heads", "--query", "x"]) == 2
    assert "trained without the selector head" in capsys.readouterr().err
