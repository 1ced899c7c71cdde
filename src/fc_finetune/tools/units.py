"""Unit conversion across length, mass, volume, temperature, speed, time and data size.

Units are validated strings: a canonical name (``"kilometer"``) or one of its aliases
(``"km"``, ``"kilometres"``). Look-up tries the exact spelling first, then lower case, so
``"Mb"`` is a megabit while ``"MB"`` and ``"mb"`` are megabytes. Each unit maps to its
dimension and a factor to that dimension's base unit; temperatures use offsets instead.

>>> convert_units(1, "mile", "km")["result"]
1.609344
"""

from __future__ import annotations

import logging
import math

logger = logging.getLogger(__name__)

# canonical name -> (dimension, factor to the base unit, aliases). Base units: meter, kilogram,
# liter, meter/second, second, byte. Temperatures are handled by _to_kelvin / _from_kelvin.
_UNITS: dict[str, tuple[str, float, tuple[str, ...]]] = {
    # length
    "millimeter": ("length", 1e-3, ("mm", "millimetre")),
    "centimeter": ("length", 1e-2, ("cm", "centimetre")),
    "meter": ("length", 1.0, ("m", "metre")),
    "kilometer": ("length", 1e3, ("km", "kilometre")),
    "inch": ("length", 0.0254, ("in", "inches", '"')),
    "foot": ("length", 0.3048, ("ft", "feet", "'")),
    "yard": ("length", 0.9144, ("yd",)),
    "mile": ("length", 1609.344, ("mi",)),
    "nautical_mile": ("length", 1852.0, ("nmi", "nautical mile")),
    # mass
    "milligram": ("mass", 1e-6, ("mg",)),
    "gram": ("mass", 1e-3, ("g", "gramme")),
    "kilogram": ("mass", 1.0, ("kg", "kilo", "kilos")),
    "tonne": ("mass", 1e3, ("t", "metric ton", "metric_ton")),
    "ounce": ("mass", 0.028349523125, ("oz",)),
    "pound": ("mass", 0.45359237, ("lb", "lbs")),
    "stone": ("mass", 6.35029318, ("st",)),
    # volume
    "milliliter": ("volume", 1e-3, ("ml", "millilitre")),
    "liter": ("volume", 1.0, ("l", "litre")),
    "cubic_meter": ("volume", 1e3, ("m3", "cubic meter", "cubic metre")),
    "teaspoon": ("volume", 0.00492892159375, ("tsp",)),
    "tablespoon": ("volume", 0.01478676478125, ("tbsp",)),
    "fluid_ounce": ("volume", 0.0295735295625, ("fl oz", "fl_oz", "fluid ounce")),
    "cup": ("volume", 0.2365882365, ("cups",)),
    "pint": ("volume", 0.473176473, ("pt",)),
    "quart": ("volume", 0.946352946, ("qt",)),
    "gallon": ("volume", 3.785411784, ("gal", "us gallon")),
    "imperial_gallon": ("volume", 4.54609, ("imperial gallon", "uk gallon")),
    # temperature (factor unused)
    "celsius": ("temperature", 1.0, ("c", "°c", "degc", "degrees celsius")),
    "fahrenheit": ("temperature", 1.0, ("f", "°f", "degf", "degrees fahrenheit")),
    "kelvin": ("temperature", 1.0, ("k",)),
    # speed
    "meter_per_second": ("speed", 1.0, ("m/s", "mps", "meters per second", "metres per second")),
    "kilometer_per_hour": ("speed", 1 / 3.6, ("km/h", "kph", "kmh", "kilometers per hour", "kilometres per hour")),
    "mile_per_hour": ("speed", 0.44704, ("mph", "mi/h", "miles per hour")),
    "knot": ("speed", 1852 / 3600, ("kn", "kt", "knots")),
    # time (a year is 365.25 days, a month is not offered: it has no fixed length)
    "millisecond": ("time", 1e-3, ("ms",)),
    "second": ("time", 1.0, ("s", "sec", "secs")),
    "minute": ("time", 60.0, ("min", "mins")),
    "hour": ("time", 3600.0, ("h", "hr", "hrs")),
    "day": ("time", 86400.0, ("d",)),
    "week": ("time", 604800.0, ("wk",)),
    "year": ("time", 31557600.0, ("yr", "yrs")),
    # data size (SI prefixes are powers of 1000, IEC prefixes powers of 1024)
    "bit": ("data", 0.125, ("b",)),
    "byte": ("data", 1.0, ("B",)),
    "kilobyte": ("data", 1e3, ("KB", "kB")),
    "megabyte": ("data", 1e6, ("MB",)),
    "gigabyte": ("data", 1e9, ("GB",)),
    "terabyte": ("data", 1e12, ("TB",)),
    "kibibyte": ("data", 1024.0, ("KiB",)),
    "mebibyte": ("data", 1024.0**2, ("MiB",)),
    "gibibyte": ("data", 1024.0**3, ("GiB",)),
    "tebibyte": ("data", 1024.0**4, ("TiB",)),
    "kilobit": ("data", 125.0, ("kbit", "Kb", "kilobits")),
    "megabit": ("data", 1.25e5, ("Mb", "mbit", "Mbit")),
    "gigabit": ("data", 1.25e8, ("Gb", "gbit", "Gbit")),
}

DIMENSIONS = tuple(dict.fromkeys(dim for dim, _, _ in _UNITS.values()))


def _build_aliases() -> tuple[dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {}
    for name, (_, _, aliases) in _UNITS.items():
        exact[name] = name
        exact[name + "s"] = name  # plurals of the canonical names: meters, pounds, ...
        exact[name.replace("_", " ")] = name
        exact[name.replace("_", " ") + "s"] = name
        for alias in aliases:
            exact[alias] = name
            if len(alias) >= 4 and alias.replace(" ", "").isalpha():  # metres, metric tons, ...
                exact.setdefault(alias + "s", name)
    exact["feet"], exact["inches"] = "foot", "inch"
    lower: dict[str, str] = {}
    for alias, name in exact.items():
        lower.setdefault(alias.lower(), name)
    for name in ("megabyte", "gigabyte", "terabyte", "kilobyte"):  # "mb" is a megabyte, not a megabit
        lower[exact_alias(name).lower()] = name
    return exact, lower


def exact_alias(name: str) -> str:
    """The first alias of a canonical unit (``"megabyte"`` -> ``"MB"``)."""
    return _UNITS[name][2][0]


_EXACT, _LOWER = _build_aliases()


def unit_names(dimension: str | None = None) -> list[str]:
    """Canonical unit names, optionally only those of one dimension."""
    return [n for n, (dim, _, _) in _UNITS.items() if dimension is None or dim == dimension]


def resolve_unit(unit: str) -> str:
    """The canonical name for ``unit``; ``ValueError`` listing the known units when there is none."""
    key = unit.strip() if isinstance(unit, str) else ""
    name = _EXACT.get(key) or _LOWER.get(key.lower())
    if name is None:
        known = "; ".join(f"{dim}: {', '.join(unit_names(dim))}" for dim in DIMENSIONS)
        raise ValueError(f"unknown unit {unit!r}. Known units - {known}")
    return name


def _to_kelvin(value: float, unit: str) -> float:
    return {"celsius": value + 273.15, "fahrenheit": (value - 32) * 5 / 9 + 273.15, "kelvin": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"celsius": value - 273.15, "fahrenheit": (value - 273.15) * 9 / 5 + 32, "kelvin": value}[unit]


def convert_units(value: float, from_unit: str, to_unit: str) -> dict:
    """Convert a quantity from one unit to another of the same kind.

    Kinds and example units: length (mm, cm, m, km, inch, foot, yard, mile, nautical_mile),
    mass (mg, g, kg, tonne, ounce, pound, stone), volume (ml, l, cubic_meter, teaspoon,
    tablespoon, fluid_ounce, cup, pint, quart, gallon, imperial_gallon; US measures unless
    named imperial), temperature (celsius, fahrenheit, kelvin), speed (m/s, km/h, mph, knot),
    time (ms, s, min, h, day, week, year) and data size (bit, byte, KB, MB, GB, TB, KiB, MiB,
    GiB, TiB, kilobit, megabit, gigabit).

    Args:
        value: The quantity to convert.
        from_unit: The unit the value is in, e.g. "km" or "fahrenheit".
        to_unit: The unit to convert to, of the same kind, e.g. "mile" or "celsius".
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value!r}")
    source, target = resolve_unit(from_unit), resolve_unit(to_unit)
    (dim_from, factor_from, _), (dim_to, factor_to, _) = _UNITS[source], _UNITS[target]
    if dim_from != dim_to:
        raise ValueError(f"cannot convert {source} ({dim_from}) to {target} ({dim_to}); both units must "
                         f"measure the same kind of quantity. {dim_from} units: {', '.join(unit_names(dim_from))}")
    if dim_from == "temperature":
        kelvin = _to_kelvin(float(value), source)
        if kelvin < 0:
            raise ValueError(f"{value} {source} is below absolute zero")
        result = _from_kelvin(kelvin, target)
    else:
        result = value * factor_from / factor_to
    if not math.isfinite(result):
        raise ValueError("the converted value is too large to represent")
    result = float(f"{result:.12g}")  # drop floating-point noise such as 0.30000000000000004
    logger.debug("convert_units(%r, %s -> %s) = %r", value, source, target, result)
    return {"value": value, "from_unit": source, "to_unit": target, "dimension": dim_from, "result": result}
