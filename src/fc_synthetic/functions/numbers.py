"""Synthetic functions: maths and unit conversion."""

from __future__ import annotations

import ast
import operator
import statistics

from ..pools import CITIES, CITY_INFO, clock, pick_two
from ..spec import Behaviour, maybe

MEASURES = ["mean", "median", "std", "min", "max", "sum"]
UNIT_FACTORS = {  # unit -> (category, value in the category's base unit)
    "kilometers": ("length", 1000.0), "miles": ("length", 1609.344), "meters": ("length", 1.0),
    "feet": ("length", 0.3048), "inches": ("length", 0.0254), "centimeters": ("length", 0.01),
    "kilograms": ("mass", 1000.0), "pounds": ("mass", 453.59237), "grams": ("mass", 1.0), "ounces": ("mass", 28.349523),
    "liters": ("volume", 1000.0), "gallons": ("volume", 3785.411784), "milliliters": ("volume", 1.0),
    "cups": ("volume", 240.0),
}
UNITS = list(UNIT_FACTORS)
SCALES = ["celsius", "fahrenheit", "kelvin"]
UTC_OFFSETS = {"Europe/London": 0, "Europe/Dublin": 0, "Europe/Lisbon": 0, "Atlantic/Reykjavik": 0,
               "Europe/Athens": 2, "Europe/Istanbul": 3, "Africa/Cairo": 2, "Africa/Johannesburg": 2,
               "Africa/Nairobi": 3, "Asia/Dubai": 4, "Asia/Kolkata": 5.5, "Asia/Bangkok": 7, "Asia/Singapore": 8,
               "Asia/Shanghai": 8, "Asia/Seoul": 9, "Asia/Tokyo": 9, "Australia/Sydney": 10,
               "Australia/Melbourne": 10, "Pacific/Auckland": 12, "America/New_York": -5, "America/Toronto": -5,
               "America/Chicago": -6, "America/Mexico_City": -6, "America/Los_Angeles": -8,
               "America/Vancouver": -8, "America/Sao_Paulo": -3, "America/Argentina/Buenos_Aires": -3}


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.Mod: operator.mod}


def _arith(node: ast.AST) -> float:
    """Evaluate a parsed arithmetic expression (numbers, + - * / ** %, unary minus) without eval()."""
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _arith(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"unsupported expression element: {ast.dump(node)}")


def _expression(r) -> str:
    a, b, c = r.randint(2, 99), r.randint(2, 60), r.randint(2, 12)
    return r.choice((f"{a} * ({b} + {c})", f"{a * c * 10} / {c}", f"{c} ** {r.randint(2, 4)}",
                     f"({a} + {b}) * {c} - {b}", f"{a}.5 * {c}", f"{a * 37} - {b * 12} + {c}", f"{a * 7} % {c}"))


def _expr_sample(r):
    args = {"expression": _expression(r)}
    if maybe(r, 0.2):
        args["precision"] = r.choice((0, 1, 2, 3, 4))
    return args


def _expr_run(args, r):
    try:
        value = round(_arith(ast.parse(args["expression"], mode="eval")), args.get("precision", 2))
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        return {"expression": args["expression"], "error": f"cannot evaluate: {exc}"}
    return {"expression": args["expression"], "result": int(value) if float(value).is_integer() else value}


def _quadratic_sample(r):
    a = r.choice((1, 1, 2, -1, 3))
    r1, r2 = r.randint(-9, 9), r.randint(-9, 9)
    return {"a": a, "b": -a * (r1 + r2), "c": a * r1 * r2}


def _poly(args) -> str:
    a, b, c = args["a"], args["b"], args["c"]
    text = {1: "", -1: "-"}.get(a, str(a)) + "x^2"
    for coef, power in ((b, "x"), (c, "")):
        if coef:
            sign = " - " if coef < 0 else " + "
            magnitude = abs(coef)
            text += sign + ("" if magnitude == 1 and power else str(magnitude)) + power
    return text + " = 0"


def _quadratic_run(args, r):
    a, b, c = args["a"], args["b"], args["c"]
    if a == 0:
        return {"error": "a must be non-zero for a quadratic equation"}
    disc = b * b - 4 * a * c
    if disc < 0:
        return {"discriminant": disc, "roots": [], "note": "no real roots"}
    roots = sorted({round((-b + s * disc**0.5) / (2 * a), 4) for s in (1, -1)})
    return {"discriminant": disc, "roots": [int(x) if float(x).is_integer() else x for x in roots]}


def _stats_sample(r):
    args = {"values": [r.randint(1, 120) for _ in range(r.randint(3, 8))]}
    if maybe(r, 0.6):
        chosen = r.sample(MEASURES, r.randint(1, 3))
        args["measures"] = [m for m in MEASURES if m in chosen]
    return args


def _stats_run(args, r):
    values, out = args["values"], {}
    funcs = {"mean": statistics.mean, "median": statistics.median, "std": statistics.pstdev,
             "min": min, "max": max, "sum": sum}
    for measure in args.get("measures", ["mean", "median", "std"]):
        out[measure] = round(float(funcs[measure](values)), 3)
    return {"count": len(values), "statistics": out}


def _units_sample(r):
    category = r.choice(["length", "mass", "volume"])
    from_unit, to_unit = pick_two(r, [u for u, (cat, _) in UNIT_FACTORS.items() if cat == category])
    return {"value": r.choice((1, 2.5, 5, 10, 12, 26.2, 42, 100, 250, 500, 1000)),
            "from_unit": from_unit, "to_unit": to_unit}


def _units_run(args, r):
    value = args["value"] * UNIT_FACTORS[args["from_unit"]][1] / UNIT_FACTORS[args["to_unit"]][1]
    return {"value": args["value"], "from_unit": args["from_unit"], "to_unit": args["to_unit"],
            "result": round(value, 4)}


def _temp_sample(r):
    from_scale, to_scale = pick_two(r, SCALES)
    return {"value": r.choice((-40, -5, 0, 12, 21.5, 37, 72, 100, 180, 300)), "from_scale": from_scale,
            "to_scale": to_scale}


def _temp_run(args, r):
    kelvin = {"celsius": lambda v: v + 273.15, "fahrenheit": lambda v: (v - 32) * 5 / 9 + 273.15,
              "kelvin": lambda v: v}[args["from_scale"]](args["value"])
    result = {"celsius": kelvin - 273.15, "fahrenheit": (kelvin - 273.15) * 9 / 5 + 32, "kelvin": kelvin}
    return {"result": round(result[args["to_scale"]], 2), "to_scale": args["to_scale"]}


def _tz_sample(r):
    from_city, to_city = pick_two(r, [c for c in CITIES if CITY_INFO[c][4] in UTC_OFFSETS])
    return {"time": clock(r, first_hour=0, last_hour=23), "from_city": from_city, "to_city": to_city}


def _tz_run(args, r):
    for key in ("from_city", "to_city"):
        if args[key] not in CITY_INFO or CITY_INFO[args[key]][4] not in UTC_OFFSETS:
            return {"error": f"unknown city '{args[key]}'"}
    try:
        hours, mins = (int(part) for part in args["time"].split(":"))
    except ValueError:
        return {"error": f"cannot read the time '{args['time']}'; use HH:MM"}
    shift = UTC_OFFSETS[CITY_INFO[args["to_city"]][4]] - UTC_OFFSETS[CITY_INFO[args["from_city"]][4]]
    minutes = hours * 60 + mins + round(shift * 60)
    day = "the next day" if minutes >= 1440 else "the previous day" if minutes < 0 else "the same day"
    minutes %= 1440
    return {"time": f"{minutes // 60:02d}:{minutes % 60:02d}", "day": day, "offset_hours": shift}


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/numbers.yaml.
BEHAVIOUR = {
    "evaluate_expression": Behaviour(sample=_expr_sample, run=_expr_run),
    "solve_quadratic": Behaviour(sample=_quadratic_sample, run=_quadratic_run, text_slots=lambda a: {"equation": _poly(a)}, answer_slots=lambda a, o: {"roots_text": " or ".join(str(x) for x in o["roots"])}),
    "compute_statistics": Behaviour(sample=_stats_sample, run=_stats_run, answer_slots=lambda a, o: {"stats_text": ", ".join(f"{k} = {v:g}" for k, v in o["statistics"].items())}),
    "convert_measurement": Behaviour(sample=_units_sample, run=_units_run),
    "convert_temperature": Behaviour(sample=_temp_sample, run=_temp_run),
    "convert_timezone": Behaviour(sample=_tz_sample, run=_tz_run, answer_slots=lambda a, o: {"time_in": a["time"]}),
}
