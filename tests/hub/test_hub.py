"""Pushing to the Hub without the Hub: huggingface_hub's own API objects, calls recorded."""

import json
import logging

import pytest
import torch
from huggingface_hub import CommitOperationAdd, HfApi, ModelCard

from fc_finetune.cli import main as cli_main
from fc_finetune.errors import FcFinetuneError
from fc_finetune.hub.push import EVAL_RESULTS_NAME, RECIPE_NAME, build_model_card, push_to_hub
from fc_finetune.model.modeling import FunctionCallingModel


class RecordingApi(HfApi):
    """HfApi whose network calls are recorded instead of sent."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", repo_id, kwargs))

    def create_commit(self, repo_id, operations, **kwargs):
        self.calls.append(("create_commit", repo_id, {"operations": list(operations), **kwargs}))
        return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/abc", "pr_url": None})()


@pytest.fixture
def model_dir(saved, tmp_path):  # noqa: F811
    import shutil

    root, _, _ = saved
    folder = tmp_path / "model"
    shutil.copytree(root / "out", folder)
    (folder / RECIPE_NAME).write_text("train_data: [hf:glaiveai/glaive-function-calling-v2, data/mix/train.jsonl]\n")
    (folder / EVAL_RESULTS_NAME).write_text(json.dumps([
        {"dataset_type": "bfcl", "dataset_name": "BFCL simple_python", "split": "test",
         "metric_type": "accuracy", "metric_name": "AST accuracy", "value": 0.42}]))
    (folder / "eval").mkdir()
    (folder / "eval" / "report.md").write_text("# report\n")
    return folder


def test_push_uploads_the_right_files_and_card(model_dir, monkeypatch, caplog, capsys):
    secret = "hf_" + "x" * 34
    monkeypatch.setenv("HF_TOKEN", secret)
    caplog.set_level(logging.DEBUG)
    api = RecordingApi()
    push_to_hub(model_dir, "me/tiny-fc", private=True, revision="v1", api=api)
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "create_branch", "create_commit"]
    assert api.calls[0][2]["private"] is True
    commit = api.calls[2][2]
    assert commit["revision"] == "v1" and commit["create_pr"] is False
    ops = commit["operations"]
    assert all(isinstance(op, CommitOperationAdd) for op in ops)
    paths = {op.path_in_repo for op in ops}
    assert {"adapter_config.json", "adapter_model.safetensors", "fc_heads.safetensors", "fc_finetune_config.json",
            "tokenizer.json", "chat_template.jinja", RECIPE_NAME, EVAL_RESULTS_NAME, "eval/report.md",
            "README.md"} <= paths
    card = ModelCard(next(op for op in ops if op.path_in_repo == "README.md").path_or_fileobj.decode())
    assert card.data.library_name == "peft"
    assert card.data.base_model == json.loads((model_dir / "fc_finetune_config.json").read_text())["base_model"]
    assert "function-calling" in card.data.tags
    assert card.data.datasets == ["glaiveai/glaive-function-calling-v2"]
    assert card.data.eval_results[0].metric_value == 0.42
    assert "AST accuracy" in card.content
    everything = caplog.text + capsys.readouterr().out + card.content
    assert secret not in everything


def test_card_for_bundled_base_names_upstream(model_dir):
    config = json.loads((model_dir / "fc_finetune_config.json").read_text())
    config["base_model"] = "smollm2-135m"
    (model_dir / "fc_finetune_config.json").write_text(json.dumps(config))
    card = ModelCard(build_model_card(model_dir, repo_id="me/x"))
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "dequantised" in card.content


def test_create_pr(model_dir):
    api = RecordingApi()
    push_to_hub(model_dir, "me/tiny-fc", revision="main", create_pr=True, api=api)
    assert [c[0] for c in api.calls] == ["create_repo", "create_commit"]
    assert api.calls[-1][2]["create_pr"] is True


def test_incomplete_folder_is_refused(model_dir):
    (model_dir / "fc_heads.safetensors").unlink()
    with pytest.raises(FcFinetuneError, match="missing fc_heads.safetensors"):
        push_to_hub(model_dir, "me/x", api=RecordingApi())


def test_cli_card_only(model_dir, capsys):
    assert cli_main(["push", "--model", str(model_dir), "--repo-id", "me/x", "--card-only"]) == 0
    out = capsys.readouterr().out
    assert "library_name: peft" in out and "would push: fc_heads.safetensors" in out


def test_from_pretrained_by_hub_id(saved, monkeypatch):  # noqa: F811
    from fc_finetune.model import io

    root, model, _ = saved
    requested = []

    def fake_snapshot_download(repo_id, revision=None, **kwargs):
        requested.append((repo_id, revision))
        return str(root / "out")

    monkeypatch.setattr(io, "snapshot_download", fake_snapshot_download)
    loaded = FunctionCallingModel.from_pretrained("me/tiny-fc", revision="v1", dtype=torch.float32)
    assert requested == [("me/tiny-fc", "v1")]
    assert torch.equal(loaded.heads.selector.weight, model.heads.selector.weight)


# -- hardening (issue 16): one clear line for a bad repo id, an unreachable Hub, a refused push -------

class FailingApi(RecordingApi):
    """HfApi whose create_repo fails the way ``error`` says."""

    def __init__(self, error, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        raise self.error


def _connect_error():
    """The connection error of the HTTP client huggingface_hub uses (httpx, or httpx2 in newer releases)."""
    from huggingface_hub.errors import HfHubHTTPError

    client = next(c for c in HfHubHTTPError.__mro__[1:] if c.__module__.split(".")[0] not in ("builtins",
                                                                                                "huggingface_hub"))
    module = __import__(client.__module__.split(".")[0])
    return module.ConnectError("[Errno -2] Name or service not known")


@pytest.mark.parametrize("repo_id", ["../../etc/passwd", "a/b/c", "me/x..y", "-me/x", "me/" + "x" * 100, ""])
def test_invalid_repo_id_is_refused_before_anything_else(repo_id, tmp_path, capsys):
    from fc_finetune.hub.push import HubError

    api = RecordingApi()
    with pytest.raises(HubError, match="is not a Hub repository id") as info:
        push_to_hub(tmp_path / "not-even-a-model", repo_id, api=api)  # the folder is not looked at
    assert repr(repo_id) in str(info.value) and "USER/NAME" in str(info.value)
    assert api.calls == []
    assert cli_main(["push", "--model", str(tmp_path / "nope"), f"--repo-id={repo_id}", "--card-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a Hub repository id" in err[0] and "Traceback" not in err[0]


def test_unreachable_hub_is_one_clear_error(model_dir):
    from fc_finetune.hub.push import HubError

    with pytest.raises(HubError) as info:
        push_to_hub(model_dir, "me/x", api=FailingApi(_connect_error()))
    message = str(info.value)
    assert message.startswith("Could not reach the Hugging Face Hub") and "'me/x'" in message
    assert "ConnectError" in message and "network" in message and "nothing was pushed" in message


def test_unreachable_hub_through_the_cli(model_dir, monkeypatch, capsys):
    from fc_finetune.hub import push

    monkeypatch.setattr(push, "HfApi", lambda token=None: FailingApi(_connect_error()))
    assert cli_main(["push", "--model", str(model_dir), "--repo-id", "me/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Could not reach the Hugging Face Hub" in err[0]


@pytest.mark.parametrize(("status", "hint"), [(401, "HF_TOKEN"), (403, "HF_TOKEN"), (500, "push again")])
def test_refused_push_names_the_status_and_the_fix(model_dir, status, hint):
    from huggingface_hub.errors import HfHubHTTPError

    from fc_finetune.hub.push import HubError

    response = type("Response", (), {"status_code": status, "headers": {}, "request": None})()
    try:
        error = HfHubHTTPError(f"{status} Client Error", response=response)
    except Exception:  # noqa: BLE001 - the constructor reads the response; build it bare then
        error = HfHubHTTPError.__new__(HfHubHTTPError)
        Exception.__init__(error, f"{status} Client Error")
        error.response, error.server_message = response, None
    with pytest.raises(HubError, match=f"HTTP {status}") as info:
        push_to_hub(model_dir, "me/x", api=FailingApi(error))
    assert hint in str(info.value)


def test_offline_mode_is_named(model_dir):
    from huggingface_hub.errors import OfflineModeIsEnabled

    from fc_finetune.hub.push import HubError

    with pytest.raises(HubError, match="HF_HUB_OFFLINE"):
        push_to_hub(model_dir, "me/x", api=FailingApi(OfflineModeIsEnabled("offline")))
