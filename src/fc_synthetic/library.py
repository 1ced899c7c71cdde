"""Real documented functions of the installed scientific packages, as distractor tools.

The catalogue has ~70 hand-written functions in ~20 domains; what a user offers a model is far
broader (signatures from every field, long descriptions, dotted names). numpy, networkx,
pandas and sympy are installed with the toolkit and document more than a thousand functions in
numpydoc style. :func:`library_tools` reads them from the installed packages (which modules,
which summaries qualify and the limits are data: ``library.yaml``) and turns each into a tool
definition: the summary's first sentence as the description, each documented parameter with a
JSON type read from its type text and the first sentence of its description, ``optional`` and
signature defaults making it optional.

They are offered, never called (:class:`fc_synthetic.generator.RecordBuilder`'s
``library_rate``): a request then meets tools of fields it has nothing to do with, and learns
that an offered tool is no reason to call. Requests of domains a library function could serve
(arithmetic, dates, units) never meet them (``keep_away_domains``).

Nothing of the packages is stored in this repository: the definitions are read when a mix is
written, and :func:`library_versions` goes into its statistics and fingerprint.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import json
import re
import warnings
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from fc_finetune.tools.docstrings import parse_numpydoc

_SOURCES: dict = yaml.safe_load(resources.files("fc_synthetic").joinpath("library.yaml").read_text())
KEEP_AWAY_DOMAINS = frozenset(_SOURCES["keep_away_domains"])


@dataclass(eq=False)
class LibraryTool:
    """One library function as an offered tool (``domain`` is ``"library"``; it is never a target)."""

    name: str
    description: str
    parameters: dict
    task: str
    module: str
    domain: str = "library"

    def tool(self) -> dict:
        """A fresh copy of the OpenAI-style definition."""
        return json.loads(json.dumps({"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters}}))


_OPTIONAL = re.compile(r",?\s*\(?\s*(optional|default\b).*$", re.I)
_SCALARS = {"int": "integer", "integer": "integer", "float": "number", "scalar": "number", "number": "number",
            "real": "number", "int or float": "number", "float or int": "number", "bool": "boolean",
            "boolean": "boolean", "str": "string", "string": "string", "node": "string", "node label": "string"}
_ARRAYS = re.compile(r"^(array_like|array-like|ndarray|list|sequence|iterable|tuple|collection)(\s+of\s+(\w+))?s?$")
_OBJECTS = re.compile(r"^(dict|dictionary|mapping|networkx (di|multi|multidi)?graph|(di)?graph)$")
_ITEM_TYPES = {"int": "integer", "ints": "integer", "integer": "integer", "integers": "integer", "float": "number",
               "floats": "number", "bool": "boolean", "str": "string", "string": "string", "strings": "string",
               "nodes": "string"}


def type_schema(type_text: str) -> dict | None:
    """The JSON schema of a numpydoc type text, or None where it has no JSON form.

    >>> type_schema("{'linear', 'nearest'}, optional")
    {'type': 'string', 'enum': ['linear', 'nearest']}
    >>> type_schema("array_like of bool")
    {'type': 'array', 'items': {'type': 'boolean'}}
    >>> type_schema("callable") is None
    True
    """
    text = type_text.strip()
    if text.startswith("{"):
        values = re.findall(r"'([^']*)'|\"([^\"]*)\"", text[: text.find("}") + 1])
        values = [a or b for a, b in values]
        return {"type": "string", "enum": values} if values else None
    text = _OPTIONAL.sub("", text).strip().lower()
    text = re.sub(r"\s+or\s+none$|^none\s+or\s+", "", text).strip()
    if text in _SCALARS:
        return {"type": _SCALARS[text]}
    match = _ARRAYS.match(text)
    if match:
        return {"type": "array", "items": {"type": _ITEM_TYPES.get(match.group(3) or "", "number")}}
    if _OBJECTS.match(text):
        return {"type": "object"}
    return None


def _task(summary: str, verbs: frozenset[str]) -> str | None:
    """``"compute the ..."`` from ``"Computes the ..."``, or None if the summary does not start with a verb."""
    first, _, rest = summary.partition(" ")
    word = first.lower()
    for verb in (word, word[:-1], word[:-2]):
        if verb in verbs and (verb == word or word in (verb + "s", verb + "es")):
            return f"{verb} {rest}".rstrip(". ")
    return None


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match.group(1) if match else text).strip()


def _read(module_name: str, prefix: str, attr: str, func: Any) -> LibraryTool | None:
    doc = getattr(func, "__doc__", None)
    if not isinstance(doc, str) or "Parameters" not in doc:
        return None
    summary, documented = parse_numpydoc(doc)
    summary = _first_sentence(summary)
    if not summary or len(summary) > _SOURCES["max_summary_chars"] or any(c in summary for c in "`$"):
        return None
    task = _task(summary, frozenset(_SOURCES["verbs"]))
    if task is None:
        return None
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):  # ufuncs and other builtins: the docstring alone
        signature = None
    skip = set(_SOURCES["skip_parameters"])
    props: dict[str, dict] = {}
    required: list[str] = []
    for pname, (type_text, description) in documented.items():
        if pname in skip:
            continue
        param = signature.parameters.get(pname) if signature else None
        if signature is not None and param is None:
            continue  # documented but not a parameter (an older name, a keyword of a wrapped function)
        optional = bool(_OPTIONAL.search(type_text)) or (param is not None and param.default is not param.empty)
        schema = type_schema(type_text)
        if schema is None:
            if optional:
                continue
            return None  # a required argument that JSON cannot carry
        schema["description"] = _first_sentence(description) or type_text.strip().capitalize()
        default = param.default if param is not None and param.default is not param.empty else None
        if isinstance(default, bool | int | float | str) and not isinstance(default, type):
            schema["default"] = default
        props[pname] = schema
        if not optional:
            required.append(pname)
    if not props or len(required) > _SOURCES["max_parameters"]:
        return None
    kept = required + [p for p in props if p not in required][: _SOURCES["max_parameters"] - len(required)]
    parameters: dict[str, Any] = {"type": "object", "properties": {p: props[p] for p in props if p in kept}}
    if required:
        parameters["required"] = required
    return LibraryTool(f"{prefix}.{attr}", summary, parameters, task, module_name)


@functools.cache
def library_tools() -> tuple[LibraryTool, ...]:
    """Every qualifying function of ``library.yaml``'s modules, sorted by name (the same packages give
    the same tools); a module that is not installed gives none."""
    tools: dict[str, LibraryTool] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated aliases warn when they are looked up
        for module_name, prefix in _SOURCES["modules"].items():
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            for attr in sorted(dir(module)):
                if attr.startswith("_"):
                    continue
                func = getattr(module, attr, None)
                if not callable(func) or inspect.isclass(func):
                    continue
                tool = _read(module_name, prefix, attr, func)
                if tool is not None:
                    tools.setdefault(tool.name, tool)
    return tuple(tools[name] for name in sorted(tools))


def split_library(tools: tuple[LibraryTool, ...] | list[LibraryTool]) -> tuple[list[LibraryTool], list[LibraryTool]]:
    """``(train, eval)``: ``eval_share`` of the tools, chosen by a hash of the name, are for eval only."""
    share = int(round(_SOURCES["eval_share"] * 1000))
    held = [t for t in tools if zlib.crc32(t.name.encode()) % 1000 < share]
    return [t for t in tools if t not in held], held


def library_versions() -> dict[str, str | None]:
    """The installed version of each package the library tools are read from (None: not installed)."""
    versions: dict[str, str | None] = {}
    for module_name in _SOURCES["modules"]:
        package = module_name.split(".")[0]
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions
