"""One synthetic function: its JSON schema, a value sampler, a fake implementation, phrasing.

A :class:`FunctionSpec` holds everything the generator needs to write examples for one
tool: the OpenAI-style definition, how to draw realistic arguments, a deterministic fake
implementation (pure Python, seeded by the arguments, so the same call always returns the
same output), user-request templates whose slots are filled from the arguments (so every
value asked for appears in the request) and answer templates that turn the output into the
final assistant message. The small schema builders below keep the catalogue files short.

>>> params(required={"city": string("City name.")}, optional={"days": integer("Days.", minimum=1, default=3)})
{'type': 'object', 'properties': {'city': {'type': 'string', 'description': 'City name.'}, 'days': {'type': 'integer', 'description': 'Days. Default: 3.', 'minimum': 1, 'default': 3}}, 'required': ['city']}
"""

from __future__ import annotations

import json
import random
import string as _string
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

Args = dict[str, Any]

_FORMATTER = _string.Formatter()


# --------------------------------------------------------------------------- schema builders
def _with_default(schema: dict, default: Any) -> dict:
    if default is not None:
        shown = json.dumps(default) if not isinstance(default, str) else default
        schema["description"] = f"{schema['description']} Default: {shown}."
        schema["default"] = default
    return schema


def string(description: str, *, enum: list[str] | None = None, default: str | None = None) -> dict:
    """A string parameter, optionally restricted to ``enum``."""
    schema: dict[str, Any] = {"type": "string", "description": description}
    if enum is not None:
        schema["enum"] = list(enum)
    return _with_default(schema, default)


def integer(description: str, *, minimum: int | None = None, maximum: int | None = None,
            default: int | None = None) -> dict:
    """An integer parameter with optional bounds."""
    schema: dict[str, Any] = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return _with_default(schema, default)


def number(description: str, *, minimum: float | None = None, maximum: float | None = None,
           default: float | None = None) -> dict:
    """A number (float or int) parameter with optional bounds."""
    schema = integer(description, minimum=minimum, maximum=maximum)  # type: ignore[arg-type]
    schema["type"] = "number"
    return _with_default(schema, default)


def boolean(description: str, *, default: bool | None = None) -> dict:
    """A boolean flag."""
    return _with_default({"type": "boolean", "description": description}, default)


def array(items: dict, description: str, *, min_items: int | None = 1, max_items: int | None = None) -> dict:
    """An array of ``items`` (a string/number/object schema)."""
    schema: dict[str, Any] = {"type": "array", "description": description, "items": items}
    if min_items is not None:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def obj(required: dict, optional: dict | None = None, *, description: str | None = None) -> dict:
    """A nested object with ``required`` and ``optional`` properties."""
    schema: dict[str, Any] = {"type": "object"}
    if description is not None:
        schema["description"] = description
    schema["properties"] = {**required, **(optional or {})}
    schema["required"] = list(required)
    return schema


def params(required: dict, optional: dict | None = None) -> dict:
    """The top-level ``parameters`` object of a tool."""
    return obj(required, optional)


# --------------------------------------------------------------------------- text formatting
def fmt_value(value: Any) -> str:
    """How an argument value reads inside a sentence: ``[a, b, c]`` -> ``a, b and c``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text if text not in ("0", "-0") else repr(value)
    if isinstance(value, list):
        parts = [fmt_value(v) for v in value]
        if not parts:
            return "none"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if isinstance(value, dict):
        return ", ".join(fmt_value(v) for v in value.values())
    return str(value)


def money(amount: float) -> str:
    """``1234.5`` -> ``1,234.50``."""
    return f"{amount:,.2f}"


def template_fields(template: str) -> set[str]:
    """The slot names a template uses: ``"{city} in {unit}"`` -> ``{"city", "unit"}``."""
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


def seeded_rng(*parts: Any) -> random.Random:
    """A generator seeded from JSON-serialisable ``parts`` (stable across runs and machines)."""
    key = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return random.Random(zlib.crc32(key.encode("utf-8")))


def maybe(rng: random.Random, p: float = 0.4) -> bool:
    """True with probability ``p`` (used to include optional arguments)."""
    return rng.random() < p


# --------------------------------------------------------------------------- the spec
@dataclass(frozen=True, eq=False)
class FunctionSpec:
    """Everything needed to write examples for one synthetic tool.

    ``requests`` are user-request templates over argument slots; ``extras[param]`` are
    sentences appended when the optional ``param`` is present but the chosen template does
    not mention it. ``vary`` names a parameter that parallel requests (``pair_requests``
    over ``{x1}``/``{x2}``) and multi-turn follow-ups (``followups`` over ``{x}``) change.
    ``answers`` are final-answer templates over argument and output slots. Specs compare and
    hash by identity (each function has exactly one).
    """

    name: str
    domain: str
    description: str
    task: str
    parameters: dict
    sample: Callable[[random.Random], Args]
    run: Callable[[Args, random.Random], dict]
    requests: tuple[str, ...]
    answers: tuple[str, ...]
    extras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    vary: str | None = None
    pair_requests: tuple[str, ...] = ()
    followups: tuple[str, ...] = ()
    text_slots: Callable[[Args], dict] | None = None
    answer_slots: Callable[[Args, dict], dict] | None = None
    composed: tuple[str, ...] = ()  # arguments the model writes from the request's meaning, not copies of its words
    weight: float = 1.0  # how often it is an example's target, relative to a function of weight 1

    def __post_init__(self) -> None:
        if not (isinstance(self.weight, int | float) and not isinstance(self.weight, bool) and self.weight > 0):
            raise ValueError(f"catalogue function {self.name!r}: weight must be a number > 0, got {self.weight!r}")

    def tool(self) -> dict:
        """The OpenAI-style definition offered to the model."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", []))

    def execute(self, args: Args) -> dict:
        """The fake implementation's output; the same arguments always give the same output."""
        return self.run(args, seeded_rng(self.name, args))

    def slots(self, args: Args) -> dict[str, str]:
        """Text for every argument (and any derived slot) to fill request templates."""
        out = {key: fmt_value(value) for key, value in args.items()}
        if self.text_slots is not None:
            out.update(self.text_slots(args))
        return out

    def output_slots(self, args: Args, output: dict) -> dict[str, str]:
        """Slots for answer templates: arguments, then top-level output fields, then extras."""
        out = self.slots(args)
        out.update((key, fmt_value(value)) for key, value in output.items() if not isinstance(value, dict | list))
        if self.answer_slots is not None:
            out.update(self.answer_slots(args, output))
        return out


# --------------------------------------------------------------------------- the catalogue files
@dataclass(frozen=True)
class Behaviour:
    """The Python half of a function: how to sample its arguments, its fake implementation and
    any derived text slots. The other half, the static spec, is data (``catalogue/*.yaml``)."""

    sample: Callable[[random.Random], Args]
    run: Callable[[Args, random.Random], dict]
    text_slots: Callable[[Args], dict] | None = None
    answer_slots: Callable[[Args, dict], dict] | None = None
    definition: dict | None = None  # the tool's ``description`` and ``parameters`` where they live in code


_TUPLES = ("requests", "answers", "pair_requests", "followups", "composed")
# libyaml's loader where PyYAML has it: the catalogue is read at import (the CLI's `data
# generate` options come from it), and the pure-Python loader takes ~0.13 s for it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_specs(group: str, behaviour: Mapping[str, Behaviour]) -> list[FunctionSpec]:
    """The functions of ``catalogue/<group>.yaml`` joined by name with their ``behaviour``, in
    file order. A function in one half and not the other is an error naming both files."""
    source = f"fc_synthetic/catalogue/{group}.yaml"
    text = resources.files("fc_synthetic").joinpath("catalogue", f"{group}.yaml").read_text()
    entries = yaml.load(text, Loader=_LOADER)
    names = [entry["name"] for entry in entries]
    if set(names) != set(behaviour) or len(names) != len(set(names)):
        raise RuntimeError(f"{source} and fc_synthetic/functions/{group}.py disagree: specs without behaviour "
                           f"{sorted(set(names) - set(behaviour))}, behaviour without spec "
                           f"{sorted(set(behaviour) - set(names))}")
    specs = []
    for entry in entries:
        fields = {k: tuple(v) if k in _TUPLES else v for k, v in entry.items()}
        fields["extras"] = {k: tuple(v) for k, v in fields.get("extras", {}).items()}
        b = behaviour[entry["name"]]
        if b.definition is not None:  # defined in code (the bundled chat tools): one place for the definition
            fields.setdefault("description", b.definition["description"])
            fields.setdefault("parameters", b.definition["parameters"])
        specs.append(FunctionSpec(**fields, sample=b.sample, run=b.run, text_slots=b.text_slots,
                                  answer_slots=b.answer_slots))
    return specs
