"""The toolkit's own chat tools (:mod:`fc_finetune.tools`): argument samplers, the real
functions as implementations, and their definitions read from the registry."""

from __future__ import annotations

import datetime as dt
import zlib

from fc_finetune.tools import REGISTRY
from fc_finetune.tools.builtin import (
    add_to_date,
    calculate,
    convert_units,
    date_difference,
    day_of_week,
    lookup_fact,
    search_facts,
)
from fc_finetune.tools.knowledge import load_facts

from ..spec import Behaviour, fmt_value, maybe

_DEFINITIONS = {tool["function"]["name"]: tool["function"] for tool in REGISTRY.tools()}


def _returning_errors(func):
    """The tool's output, or ``{"error": ...}`` where it refuses its arguments (as the chat's executor
    hands a refusal back to the model)."""
    def run(args, r):
        try:
            return func(**args)
        except ValueError as exc:
            return {"error": str(exc)}
    return run


def _variant(text: str, options: tuple[str, ...]) -> str:
    """One of ``options``, fixed by ``text`` (slots have no random generator of their own)."""
    return options[zlib.crc32(text.encode("utf-8")) % len(options)]


# ------------------------------------------------------------------------------ calculate
def _calc_sample(r):
    a, b, c = r.randint(2, 99), r.randint(2, 60), r.randint(2, 12)
    form = r.randrange(8)
    if form == 0:
        return {"expression": f"{a} * {b}"}
    if form == 1:
        return {"expression": f"({a} + {b}) / {c}"}
    if form == 2:
        return {"expression": f"sqrt({r.choice((16, 49, 81, 144, 169, 225, 400, 625, 2))})"}
    if form == 3:
        return {"expression": f"{r.choice((5, 10, 12.5, 15, 20, 25, 30, 75))} / 100 * {a * 10}"}
    if form == 4:
        return {"expression": f"{r.randint(2, 9)} ** {r.randint(2, 12)}"}
    if form == 5:
        return {"expression": f"{a * 37} - {b * 12} + {c}"}
    if form == 6:
        return {"expression": f"{a * c} / {c}"}
    return {"expression": f"{a}.5 * {c}"}


def _spoken(expression: str) -> str:
    """The expression as a person asks for it."""
    if expression.startswith("sqrt("):
        n = expression[5:-1]
        return _variant(expression, (f"the square root of {n}", f"sqrt({n})", f"the root of {n}"))
    if " / 100 * " in expression:
        p, x = expression.split(" / 100 * ")
        return _variant(expression, (f"{p}% of {x}", f"{p} percent of {x}"))
    if " ** " in expression:
        x, n = expression.split(" ** ")
        return _variant(expression, (f"{x} to the power of {n}", f"{x}^{n}", f"{x} raised to {n}"))
    if expression.count(" ") == 2 and " * " in expression:
        x, y = expression.split(" * ")
        return _variant(expression, (expression, f"{x} times {y}", f"{x} multiplied by {y}"))
    return expression


def _calc_slots(args):
    spoken = _spoken(args["expression"])
    return {"spoken": spoken, "spoken_cap": spoken[:1].upper() + spoken[1:]}


_calc_run = _returning_errors(calculate)


# ------------------------------------------------------------------------------ convert_units
_UNITS = {
    "length": ("millimeters", "centimeters", "meters", "kilometers", "inches", "feet", "yards", "miles"),
    "mass": ("grams", "kilograms", "ounces", "pounds", "kg", "g", "lb"),
    "volume": ("milliliters", "liters", "cups", "pints", "gallons", "tablespoons"),
    "temperature": ("celsius", "fahrenheit", "kelvin"),
    "speed": ("km/h", "mph", "knots", "m/s"),
    "time": ("seconds", "minutes", "hours", "days", "weeks"),
    "data size": ("MB", "GB", "KB", "TB", "bytes"),
}


def _units_sample(r):
    units = _UNITS[r.choice(list(_UNITS))]
    source, target = r.sample(units, 2)
    return {"value": r.choice((1, 2, 2.5, 3, 5, 10, 12, 20, 37, 42, 100, 250, 1000)), "from_unit": source,
            "to_unit": target}


_units_run = _returning_errors(convert_units)


def _units_answer(args, out):
    return {"from_unit": args["from_unit"], "to_unit": args["to_unit"], "result": fmt_value(round(out["result"], 3))}


# ------------------------------------------------------------------------------ dates
def _a_date(r, lo=1990, hi=2030) -> dt.date:
    return dt.date(r.randint(lo, hi), r.randint(1, 12), r.randint(1, 28))


def _difference_sample(r):
    start = _a_date(r, 2000, 2028)
    end = start + dt.timedelta(days=r.randint(3, 2000))
    args = {"start": start.isoformat(), "end": end.isoformat()}
    if maybe(r, 0.7):
        args["unit"] = r.choice(("days", "weeks", "months", "years"))
    return args


_difference_run = _returning_errors(date_difference)


def _add_sample(r):
    args = {"date": _a_date(r).isoformat()}
    for unit, top in r.sample((("days", 400), ("weeks", 52), ("months", 36), ("years", 10)), r.choice((1, 1, 1, 2))):
        args[unit] = r.randint(2, top)
    return args


_add_run = _returning_errors(add_to_date)


def _weekday_sample(r):
    return {"date": _a_date(r, 1900, 2040).isoformat()}


_weekday_run = _returning_errors(day_of_week)


# ------------------------------------------------------------------------------ knowledge base
_FACTS = load_facts()


def _lookup_sample(r):
    fact = r.choice(_FACTS)
    args = {"topic": fact["topic"]}
    if maybe(r, 0.75):
        args["field"] = r.choice(sorted(fact["fields"])).replace("_", " ")
    return args


_lookup_run = _returning_errors(lookup_fact)


def _lookup_answer(args, out):
    if "fields" in out:  # the whole entry
        return {"value": out.get("summary", "")}
    return {"value": fmt_value(out.get("value", ""))}


_QUERIES = ("gas giant", "euro currency", "noble gas", "largest planet", "red planet", "capital Tokyo",
            "precious metal", "rings", "South America", "tallest mountain", "Africa", "Asia country", "metal",
            "Europe", "Spanish language", "Pacific Ocean", "yen", "star", "satellite of Earth", "element symbol Fe")


def _search_sample(r):
    args = {"query": r.choice(_QUERIES)}
    if maybe(r, 0.3):
        args["limit"] = r.randint(1, 5)
    return args


_search_run = _returning_errors(search_facts)


def _search_answer(args, out):
    topics = [hit["topic"] for hit in out.get("results", [])]
    return {"found": fmt_value(topics) if topics else "nothing"}


BEHAVIOUR = {
    "calculate": Behaviour(sample=_calc_sample, run=_calc_run, text_slots=_calc_slots,
                           definition=_DEFINITIONS["calculate"]),
    "convert_units": Behaviour(sample=_units_sample, run=_units_run, answer_slots=_units_answer,
                               definition=_DEFINITIONS["convert_units"]),
    "date_difference": Behaviour(sample=_difference_sample, run=_difference_run,
                                 definition=_DEFINITIONS["date_difference"]),
    "add_to_date": Behaviour(sample=_add_sample, run=_add_run, definition=_DEFINITIONS["add_to_date"]),
    "day_of_week": Behaviour(sample=_weekday_sample, run=_weekday_run, definition=_DEFINITIONS["day_of_week"]),
    "lookup_fact": Behaviour(sample=_lookup_sample, run=_lookup_run, answer_slots=_lookup_answer,
                             definition=_DEFINITIONS["lookup_fact"]),
    "search_facts": Behaviour(sample=_search_sample, run=_search_run, answer_slots=_search_answer,
                              definition=_DEFINITIONS["search_facts"]),
}
