"""``fc-finetune demo``: the main job on the bundled default, end to end, offline on CPU.

    fc-finetune demo                              # what `make demo` runs
    fc-finetune demo --message "Name three primary colours."

Steps that exist today: fetch SmolLM2-135M-Instruct (once), load it, and answer one chat
message. Training, evaluation and the function-calling exchange join as they land.
"""

from __future__ import annotations

import argparse
import time

DEFAULT_MESSAGE = "In one sentence, what does it mean for a language model to call a function?"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="Run the main job on the bundled default model (offline, CPU).",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m",
                        help="Model alias, local folder or Hub id (default: the bundled smollm2-135m).")
    parser.add_argument("--message", default=DEFAULT_MESSAGE, help="The user message to answer.")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="Length limit of the reply in tokens.")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import torch

    from ..loading import load_causal_lm, load_tokenizer, resolve_model_path

    started = time.perf_counter()
    print(f"[1/3] model: resolving '{args.model}' (fetched and converted on first use)")
    folder = resolve_model_path(args.model)
    print(f"      -> {folder}  ({time.perf_counter() - started:.1f} s)")

    t = time.perf_counter()
    tokenizer = load_tokenizer(folder)
    model = load_causal_lm(folder, dtype=torch.bfloat16)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"[2/3] loaded {model.config.architectures[0]} with {n_params / 1e6:.0f}M parameters "
          f"in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    messages = [{"role": "user", "content": args.message}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=args.max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
    new_tokens = output[0, inputs["input_ids"].shape[1]:]
    reply = tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
    seconds = time.perf_counter() - t
    print(f"[3/3] chat ({len(new_tokens)} tokens in {seconds:.1f} s, {len(new_tokens) / seconds:.0f} tok/s)")
    print(f"      user: {args.message}")
    print(f"      assistant: {reply}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0
