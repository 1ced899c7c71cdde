"""Register Python callables as tools: JSON schema from type hints, arguments back to Python.

>>> registry = FunctionRegistry()
>>> @registry.register
... def add(a: int, b: int = 1) -> int:
...     '''Add two integers.
...
...     Args:
...         a: The first number.
...         b: The second number.
...     '''
...     return a + b
>>> registry.tools()[0]["function"]["parameters"]["required"]
['a']

The description and argument descriptions come from a Google-style docstring, parsed with
transformers' ``parse_google_format_docstring``, or a numpydoc one (``Parameters`` and a line of
dashes; :mod:`fc_finetune.tools.docstrings`). The type hints are converted here rather
than with ``transformers.utils.get_json_schema``: that function requires a docstring line
for every argument, marks ``Optional`` with OpenAPI's ``nullable`` (which JSON-schema
validators ignore, so ``None`` would be rejected) and refuses dataclasses and pydantic
models. For the hints it does support, the schemas below have the same shape, except that
``X | None`` becomes ``{"type": ["x", "null"]}`` and is not required, and objects we derive
(the parameters, dataclasses, pydantic models) carry ``"additionalProperties": false``
because the Python side would reject unknown keys anyway.

Supported hints: ``str int float bool Any list dict``, ``list[X]``, ``tuple[X, ...]``,
``dict[str, X]``, ``Literal[...]``, ``enum.Enum`` subclasses, ``X | None`` / ``Optional[X]``,
other unions (``anyOf``), dataclasses and pydantic models (nested, with their required
fields). :meth:`RegisteredFunction.prepare` turns validated JSON arguments back into those
types (dicts -> dataclasses / models, values -> Enum members) before the call.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any, Literal, Union, get_args, get_origin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..data.schema import argument_problems
from ..data.tool_format import tool_name_problem
from ..errors import FcFinetuneError
from .docstrings import parse_numpydoc

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
_BARE = {list: {"type": "array"}, tuple: {"type": "array"}, dict: {"type": "object"}, Any: {}}


class RegistryError(FcFinetuneError):
    """A function cannot be registered (duplicate name, missing or unsupported type hint, bad schema)."""


class UnknownFunctionError(RegistryError, KeyError):
    """No function of that name is registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class _HintError(Exception):
    """An unsupported hint; the registry adds the function and parameter to the message."""


# --------------------------------------------------------------------------- hints -> schema
def _pydantic_model(hint: Any) -> bool:
    pydantic = sys.modules.get("pydantic")  # a model class exists only if pydantic is imported
    return pydantic is not None and isinstance(hint, type) and issubclass(hint, pydantic.BaseModel)


def _is_union(origin: Any) -> bool:
    return origin is Union or origin is types.UnionType


def _enum_schema(values: list, what: str) -> dict:
    if not values:
        raise _HintError(f"{what} has no values, so no argument could ever match it")
    bad = [v for v in values if type(v) not in _SCALARS]
    if bad:
        raise _HintError(f"{what} has values that are not JSON scalars: {bad!r}")
    kinds = list(dict.fromkeys(_SCALARS[type(v)] for v in values))
    return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": list(values)}


def _nullable(schema: dict) -> dict:
    """``schema`` or null."""
    if "enum" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return {**schema, "type": [*kinds, "null"], "enum": [*schema["enum"], None]}
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    if not schema:  # Any already admits null
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def hint_schema(hint: Any, _seen: tuple = ()) -> dict:
    """The JSON schema for one type hint; raises ``_HintError`` for what JSON cannot express."""
    origin, args = get_origin(hint), get_args(hint)
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is None and hint in _BARE:
        return dict(_BARE[hint])
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_schema([m.value for m in hint], f"Enum {hint.__name__}")
    if origin is Literal:
        return _enum_schema(list(args), f"Literal{list(args)}")
    if _is_union(origin):
        arms = [a for a in args if a is not type(None)]
        schemas = [hint_schema(a, _seen) for a in arms]
        if len(schemas) == 1:
            out = schemas[0]
        elif all(s.keys() == {"type"} and isinstance(s["type"], str) for s in schemas):
            out = {"type": list(dict.fromkeys(s["type"] for s in schemas))}
        else:
            out = {"anyOf": schemas}
        return _nullable(out) if len(arms) < len(args) else out
    if origin is list:
        return {"type": "array", "items": hint_schema(args[0], _seen)} if args else {"type": "array"}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": hint_schema(args[0], _seen)}
        raise _HintError(f"{hint!r}: only tuple[X, ...] is supported; use list[X] or a dataclass")
    if origin is dict:
        if args and args[0] is not str:
            raise _HintError(f"{hint!r}: JSON object keys are strings; use dict[str, X]")
        return {"type": "object", "additionalProperties": hint_schema(args[1], _seen)} if args else {"type": "object"}
    if dataclasses.is_dataclass(hint) or _pydantic_model(hint):
        if hint in _seen:
            raise _HintError(f"{hint.__name__} refers to itself; recursive types need an explicit schema")
        return _object_schema(hint, _seen + (hint,))
    raise _HintError(f"{hint!r} cannot be written as JSON; supported: str, int, float, bool, list[X], "
                     "dict[str, X], Literal, Enum, X | None, dataclasses, pydantic models; "
                     "or pass schema= to register")


def _object_schema(cls: type, seen: tuple) -> dict:
    """A dataclass or pydantic model as a nested object schema with its required fields."""
    props, required = {}, []
    if dataclasses.is_dataclass(cls):
        try:
            hints = typing.get_type_hints(cls)
        except Exception as e:  # an annotation naming something undefined at module level
            raise _HintError(f"cannot resolve the type hints of {cls.__name__}: {e}") from None
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            props[f.name] = _described(hint_schema(hints[f.name], seen), f.metadata.get("description"))
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if no_default and not _optional(hints[f.name]):
                required.append(f.name)
        doc = cls.__doc__ or ""
        doc = "" if doc.startswith(f"{cls.__name__}(") else doc  # dataclasses write the signature
    else:
        for name, info in cls.model_fields.items():
            key = info.alias or name
            props[key] = _described(hint_schema(info.annotation, seen), info.description)
            if info.is_required():
                required.append(key)
        doc = cls.__doc__ or ""
    out: dict[str, Any] = {"type": "object"}
    if doc.strip():
        out["description"] = inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ")
    out["properties"] = props
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


def _described(schema: dict, description: str | None) -> dict:
    return {**schema, "description": description} if description else schema


def _optional(hint: Any) -> bool:
    return _is_union(get_origin(hint)) and type(None) in get_args(hint)


# --------------------------------------------------------------------------- JSON -> Python
def to_python(value: Any, hint: Any) -> Any:
    """Turn a schema-valid JSON value into what ``hint`` asks for (dataclasses, models, Enums)."""
    origin, args = get_origin(hint), get_args(hint)
    if value is None:
        return None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if _pydantic_model(hint):
        return hint.model_validate(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        return hint(**{k: to_python(v, hints.get(k, Any)) for k, v in value.items()})
    if _is_union(origin):
        arms = [a for a in args if a is not type(None)]
        if len(arms) == 1:
            return to_python(value, arms[0])
        for arm in arms:  # the first arm whose schema the value fits
            if Draft202012Validator(hint_schema(arm)).is_valid(value):
                return to_python(value, arm)
        return value
    if origin is list and args and isinstance(value, list):
        return [to_python(v, args[0]) for v in value]
    if origin is tuple and isinstance(value, list):
        return tuple(to_python(v, args[0]) for v in value) if args else tuple(value)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: to_python(v, args[1]) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- registry
@dataclasses.dataclass
class RegisteredFunction:
    """One registered tool: the callable, its OpenAI-style definition and its Python hints."""

    name: str
    description: str
    parameters: dict
    func: Callable[..., Any]
    hints: dict[str, Any] = dataclasses.field(default_factory=dict)  # parameter -> hint, for prepare()
    nullable: tuple[str, ...] = ()  # Optional parameters without a default: passed None when left out
    isolation: str | None = None  # "process" / "thread" for this function; None: the executor's choice

    def tool(self) -> dict:
        """``{"type": "function", "function": {"name", "description", "parameters"}}``."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}

    def validate(self, arguments: Any) -> list[str]:
        """Every way ``arguments`` breaks the schema, as ``path: message`` lines (empty when valid)."""
        return argument_problems(self.parameters, arguments)

    def prepare(self, arguments: dict) -> dict:
        """Keyword arguments for the call: JSON values converted to the hinted Python types."""
        kwargs = {k: to_python(v, self.hints[k]) if k in self.hints else v for k, v in arguments.items()}
        for name in self.nullable:
            kwargs.setdefault(name, None)
        return kwargs

    def __call__(self, arguments: dict) -> Any:
        return self.func(**self.prepare(arguments))


class FunctionRegistry:
    """Named tools, in registration order. ``in`` and iteration go by name, like a mapping."""

    def __init__(self) -> None:
        self._functions: dict[str, RegisteredFunction] = {}

    def register(self, func: Callable | None = None, *, name: str | None = None,
                 description: str | None = None, schema: dict | None = None, isolation: str | None = None):
        """Register ``func``; usable as ``@register`` or ``@register(name=..., schema=...)``.

        ``schema`` is the parameters object (JSON schema), or a whole OpenAI-style tool whose
        name and description are used unless given here. The name must match
        :data:`~fc_finetune.data.tool_format.TOOL_NAME` (1-64 letters, digits, ``_ . -``): it is
        written into every prompt. ``isolation="thread"`` runs this function in the caller's
        process even where the executor forks (it must change the caller's memory, or use
        CUDA); see :mod:`fc_finetune.tools.executor`. The function is returned unchanged.
        """
        def decorate(fn: Callable) -> Callable:
            self.add(fn, name=name, description=description, schema=schema, isolation=isolation)
            return fn

        return decorate(func) if func is not None else decorate

    def add(self, func: Callable, *, name: str | None = None, description: str | None = None,
            schema: dict | None = None, isolation: str | None = None) -> RegisteredFunction:
        """Register ``func`` and return its entry (the non-decorator form of :meth:`register`)."""
        if isolation not in (None, "process", "thread"):
            raise RegistryError(f"isolation for {_label(func)} must be 'process', 'thread' or None, got {isolation!r}")
        if not callable(func):
            raise RegistryError(f"register() needs a callable, got {type(func).__name__}: {func!r}")
        if inspect.iscoroutinefunction(func):
            raise RegistryError(f"{_label(func)} is async; register a plain function that runs it "
                                "(for example with asyncio.run)")
        if schema is not None:
            entry = self._explicit(func, name, description, schema)
        else:
            entry = self._derived(func, name, description)
        problem = tool_name_problem(entry.name)
        if problem:
            raise RegistryError(f"{_label(func)} cannot be registered: {problem}; pass name= with a valid name")
        entry.isolation = isolation
        if entry.name in self._functions:
            raise RegistryError(f"a function named {entry.name!r} is already registered "
                                f"({_label(self._functions[entry.name].func)}); pass name= to register "
                                f"{_label(func)} under another name")
        self._functions[entry.name] = entry
        return entry

    def _derived(self, func: Callable, name: str | None, description: str | None) -> RegisteredFunction:
        label = _label(func)
        doc = inspect.getdoc(func) or ""
        # Imported here: registering tools (and `fc-finetune chat --help`) must not load transformers.
        from transformers.utils.chat_template_utils import parse_google_format_docstring

        summary, arg_docs, _ = parse_google_format_docstring(doc) if doc else (None, {}, None)
        if doc and not arg_docs:  # numpy's style, not Google's?
            numpy_summary, numpy_docs = parse_numpydoc(doc)
            if numpy_docs:
                summary, arg_docs = numpy_summary, {pname: text for pname, (_, text) in numpy_docs.items() if text}
        try:
            hints = typing.get_type_hints(func)
        except Exception as e:  # an annotation that names something undefined
            raise RegistryError(f"cannot resolve the type hints of {label}: {e}; with `from __future__ import "
                                "annotations`, the types in hints must be importable at module level") from e
        props, required, nullable = {}, [], []
        for pname, param in _parameters(func).items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise RegistryError(f"{label}: parameter {pname!r} is *args/**kwargs, which a schema cannot "
                                    "describe; list the arguments explicitly or pass schema=")
            if pname not in hints:
                raise RegistryError(f"{label}: parameter {pname!r} has no type hint; add one "
                                    f"(e.g. `{pname}: str`) or pass schema=")
            try:
                props[pname] = _described(hint_schema(hints[pname]), (arg_docs or {}).get(pname))
            except _HintError as e:
                raise RegistryError(f"{label}: parameter {pname!r}: {e}") from None
            if param.default is param.empty:
                (nullable if _optional(hints[pname]) else required).append(pname)
        parameters: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            parameters["required"] = required
        parameters["additionalProperties"] = False
        hints.pop("return", None)
        return RegisteredFunction(name or func.__name__, description or summary or "", parameters, func,
                                  hints, tuple(nullable))

    def _explicit(self, func: Callable, name: str | None, description: str | None,
                  schema: dict) -> RegisteredFunction:
        spec = schema.get("function", schema) if schema.get("type") == "function" else schema
        parameters = spec["parameters"] if "parameters" in spec else spec
        fn_name = name or spec.get("name") or getattr(func, "__name__", None)
        if not fn_name:
            raise RegistryError(f"{func!r} has no __name__; pass name= to register")
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as e:
            raise RegistryError(f"the schema given for {fn_name!r} is not a valid JSON schema: {e.message}") from None
        if parameters.get("type") != "object":
            raise RegistryError(f"the schema given for {fn_name!r} must describe an object of arguments "
                                f"(\"type\": \"object\"), got {parameters.get('type')!r}")
        try:  # hints still let prepare() build dataclasses / Enums; a function without them gets raw JSON
            hints = {k: v for k, v in typing.get_type_hints(func).items() if k != "return"}
        except Exception:
            hints = {}
        doc = (inspect.getdoc(func) or "").split("\n\n")[0].replace("\n", " ")
        return RegisteredFunction(fn_name, description or spec.get("description") or doc, parameters, func, hints)

    def get(self, name: str) -> RegisteredFunction:
        try:
            return self._functions[name]
        except KeyError:
            known = ", ".join(self._functions) or "none"
            raise UnknownFunctionError(f"no function named {name!r} is registered (registered: {known})") from None

    def tools(self) -> list[dict]:
        """OpenAI-style tool definitions, in registration order."""
        return [entry.tool() for entry in self._functions.values()]

    def names(self) -> list[str]:
        return list(self._functions)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __len__(self) -> int:
        return len(self._functions)

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __repr__(self) -> str:
        return f"FunctionRegistry({', '.join(self._functions)})"


def _parameters(func: Callable) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(func).parameters)
    first = next(iter(params), None)  # an unbound method's receiver is not an argument
    if first in ("self", "cls") and params[first].annotation is inspect.Parameter.empty:
        del params[first]
    return params


def _label(func: Callable) -> str:
    return f"function {getattr(func, '__qualname__', repr(func))!r}"


def load_registry(spec: str) -> FunctionRegistry:
    """The FunctionRegistry named by ``MODULE:NAME`` (as ``--tools`` takes it): the module is
    imported and the attribute looked up, never evaluated."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise RegistryError(f"--tools '{spec}' must be MODULE:NAME, e.g. fc_finetune.tools:REGISTRY.")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # missing, or failing while it is imported: one line either way
        raise RegistryError(f"--tools '{spec}': cannot import module '{module_name}' "
                            f"({type(exc).__name__}: {exc}). Is it installed or on PYTHONPATH?") from exc
    value = module
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(value, part):
            raise RegistryError(f"--tools '{spec}': module '{module_name}' has no attribute '{attr}'.")
        value = getattr(value, part)
    if not isinstance(value, FunctionRegistry):
        raise RegistryError(f"--tools '{spec}': '{attr}' is a {type(value).__name__}, not a FunctionRegistry; "
                            "register your functions on a fc_finetune.tools.registry.FunctionRegistry and name that.")
    if not len(value):
        raise RegistryError(f"--tools '{spec}': the registry has no functions.")
    return value
