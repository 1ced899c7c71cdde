"""Function masking: rename the functions and their parameters to random identifiers.

A model that has only ever seen ``get_current_weather(city)`` can learn to pick tools and
fill arguments by their names alone. In a masked copy every offered function and each of
its top-level parameters gets a meaningless name (``kq7v_tz``, ``x3.rbn2``), consistently
in the tools, the calls and the tool messages, while the descriptions stay as they were:
the selector and the argument writer must read the descriptions. (Hammer, MadeAgents,
masks about two thirds of its copies this way.)

Only the training split is masked: the eval split keeps the catalogue's names, so its calls
can still run against the catalogue's implementations.
"""

from __future__ import annotations

import copy
import random
import string

_FIRST = string.ascii_lowercase
_REST = string.ascii_lowercase + string.digits


def random_identifier(rng: random.Random, taken: set[str], *, dotted: bool = False) -> str:
    """A fresh identifier, 3-10 characters, sometimes with an underscore or (``dotted``) a dot."""
    while True:
        parts = []
        for _ in range(rng.choice((1, 1, 2))):
            parts.append(rng.choice(_FIRST) + "".join(rng.choices(_REST, k=rng.randint(2, 6))))
        name = "_".join(parts)
        if dotted and rng.random() < 0.25:
            name = rng.choice(_FIRST) + "".join(rng.choices(_REST, k=rng.randint(1, 4))) + "." + name
        if name not in taken:
            taken.add(name)
            return name


def mask_record(record: dict, rng: random.Random) -> dict:
    """A copy of ``record`` with every function and top-level parameter renamed; descriptions,
    values and messages' text are kept. ``meta.functions`` names the calls as the record now
    writes them and ``meta.masked`` maps each new function name to the catalogue's."""
    out = copy.deepcopy(record)
    taken: set[str] = set()
    functions: dict[str, tuple[str, dict[str, str]]] = {}
    for tool in out["tools"]:
        fn = tool["function"]
        params = fn.get("parameters") or {}
        props = params.get("properties") or {}
        param_taken: set[str] = set()
        renamed = {key: random_identifier(rng, param_taken) for key in props}
        functions[fn["name"]] = (random_identifier(rng, taken, dotted=True), renamed)
        fn["name"] = functions[fn["name"]][0]
        if props:
            params["properties"] = {renamed[k]: v for k, v in props.items()}
        if "required" in params:
            params["required"] = [renamed.get(k, k) for k in params["required"]]
    for message in out["messages"]:
        for call in message.get("tool_calls") or []:
            new_name, renamed = functions[call["name"]]
            call["name"] = new_name
            call["arguments"] = {renamed.get(k, k): v for k, v in call["arguments"].items()}
        if message.get("role") == "tool" and message.get("name") in functions:
            message["name"] = functions[message["name"]][0]
    meta = out.get("meta", {})
    out["meta"] = {**meta, "functions": [functions[n][0] if n in functions else n for n in meta.get("functions", [])],
                   "masked": {new: old for old, (new, _) in functions.items()}}
    return out
