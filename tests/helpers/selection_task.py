"""A synthetic selection task: the user names a colour, each tool's description is one
colour; the selector must pick the tool with the user's colour, or NO_CALL when none has
it. Tool names are random, so names seen in training say nothing at test time."""

import random

COLOURS = "red blue green black white pink gold gray cyan lime navy teal plum rose sand wine".split()

# A compact Hermes-style template (the model's "own"): keeps tiny-model sequences short.
COMPACT_TOOL_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n<tools>{% for t in tools %}\n{{ t | tojson }}{% endfor %}\n</tools><|im_end|>\n{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
    "{%- if m.tool_calls %}{% for c in m.tool_calls %}{% if not loop.first %}\n{% endif %}<tool_call>\n"
    "{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}\n</tool_call>{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tool(name, colour, params=None):
    return {"type": "function", "function": {"name": name, "description": colour,
                                             "parameters": params or {"type": "object", "properties": {}}}}


def example(rng: random.Random, colours, names, *, n_tools=3, no_call_rate=0.25, with_args=False):
    offered = rng.sample(colours, n_tools)
    ask = rng.choice([c for c in colours if c not in offered]) if rng.random() < no_call_rate else rng.choice(offered)
    tool_names = rng.sample(names, n_tools)
    params = {"type": "object", "properties": {"n": {"type": "integer"}}} if with_args else None
    tools = [tool(n, c, params) for n, c in zip(tool_names, offered, strict=True)]
    messages = [{"role": "user", "content": ask}]
    if ask in offered:
        name = tool_names[offered.index(ask)]
        args = {"n": rng.randint(0, 9)} if with_args else {}
        messages += [{"role": "assistant", "content": "", "tool_calls": [{"name": name, "arguments": args}]},
                     {"role": "tool", "name": name, "content": "ok"}]
    messages.append({"role": "assistant", "content": "done"})
    return {"messages": messages, "tools": tools}


def dataset(seed, n, colours=COLOURS[:12], name_prefix="fn", **kwargs):
    rng = random.Random(seed)
    names = [f"{name_prefix}_{i}" for i in range(20)]
    return [example(rng, colours, names, **kwargs) for _ in range(n)]
