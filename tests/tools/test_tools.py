"""The bundled offline tools (fc_finetune.tools): golden values, helpful errors, schemas, Executor."""

import json
import math
import time

import pytest
from jsonschema import Draft202012Validator

from fc_finetune.data.schema import validate_tools
from fc_finetune.tools.builtin import (
    REGISTRY,
    add_to_date,
    build_registry,
    calculate,
    convert_units,
    date_difference,
    day_of_week,
    lookup_fact,
    search_facts,
)
from fc_finetune.tools.executor import Executor
from fc_finetune.tools.knowledge import load_facts

NAMES = ["calculate", "convert_units", "date_difference", "add_to_date", "day_of_week", "lookup_fact",
         "search_facts"]


# --------------------------------------------------------------------------- calculator
@pytest.mark.parametrize("expression, expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 / 2", 3.5), ("7 // 2", 3), ("7 % 3", 1), ("2 ** 10", 1024),
    ("-3 + +5", 2), ("-(2 ** 2)", -4), ("2 ** -1", 0.5), ("sqrt(16)", 4.0), ("log(e)", 1.0),
    ("log(8, 2)", 3.0), ("factorial(5)", 120), ("max(1, 4, 2)", 4), ("abs(-2.5)", 2.5), ("round(2.567, 2)", 2.57),
    ("floor(2.7) + ceil(2.1)", 5), ("1.5e3", 1500.0), ("hypot(3, 4)", 5.0),
])
def test_calculate_golden(expression, expected):
    out = calculate(expression)
    assert out == {"expression": expression, "result": expected}
    assert type(out["result"]) is type(expected)


def test_calculate_trigonometry_and_constants():
    assert calculate("sin(pi / 2)")["result"] == pytest.approx(1.0)
    assert calculate("cos(0) + exp(0)")["result"] == 2.0
    assert calculate("degrees(pi)")["result"] == pytest.approx(180.0)
    assert calculate("tau / 2")["result"] == math.pi


@pytest.mark.parametrize("expression, needle", [
    ("__import__('os')", "unknown function '__import__'"),
    ("__import__('os').system('ls')", "bare name"),
    ("math.sqrt(2)", "attribute access is not allowed"),
    ("(1).__class__", "attribute access is not allowed"),
    ("x + 1", "unknown name 'x'"),
    ("sqrt", "functions must be called"),
    ("'a' * 3", "only numbers"),
    ("True + 1", "only numbers"),
    ("1j * 2", "only numbers"),
    ("[1, 2]", "List is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("1 if 1 else 2", "IfExp is not allowed"),
    ("1 < 2", "Compare is not allowed"),
    ("2 ^ 3", "use '**'"),
    ("1 << 3", "not supported"),
    ("1 / 0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("sqrt(-1)", "sqrt(-1) is undefined"),
    ("log(0)", "undefined"),
    ("(-8) ** 0.5", "not a real number"),
    ("max()", "wrong arguments for max()"),
    ("sqrt(x=4)", "positional arguments only"),
    ("factorial(10000)", "factorial() is limited to n <= 1000 here, got 10000"),
    ("factorial(2.5)", "factorial needs a whole number"),
    ("2 +", "not valid arithmetic"),
    ("", "empty"),
    ("   ", "empty"),
])
def test_calculate_refuses(expression, needle):
    with pytest.raises(ValueError) as info:
        calculate(expression)
    assert needle in str(info.value)


@pytest.mark.parametrize("expression", ["10**10**10", "9**9**9**9", "2**100000", "(10**1000) * (10**1000)",
                                        "10.0**400", "exp(1000)", "1e308 * 10", "factorial(1000) * factorial(1000)"])
def test_calculate_refuses_huge_results_quickly(expression):
    start = time.perf_counter()
    with pytest.raises(ValueError, match="too large|not a finite number"):
        calculate(expression)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("expression, needle", [
    ("round(1, -10**7)", "round() takes at most"),  # once 8 s of C work, GIL held, Ctrl-C ignored
    ("round(1, -10**8)", "round() takes at most"),  # once minutes
    ("round(2.5, 10**9)", "round() takes at most"),
    ("2 ** -200000", "exponent -200000 is too large"),
    ("0.5 ** 10**6", "exponent 1000000 is too large"),
    ("factorial(10**6)", "factorial() is limited to n <= 1000 here"),
    ("(10**1000) ** 2", "the power <a 1001-digit integer>**2 is too large"),
])
def test_calculate_caps_its_work_before_doing_it(expression, needle):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        calculate(expression)
    assert needle in str(info.value) and time.perf_counter() - start < 0.1
    assert calculate("round(123456, -3)")["result"] == 123000 and calculate("round(1.23456, 3)")["result"] == 1.235
    assert calculate("1.0001 ** 20000")["result"] == pytest.approx(7.3883, rel=1e-4)  # float powers stay free


def test_calculate_limits_length_and_nesting():
    with pytest.raises(ValueError, match="too long"):
        calculate("1+" * 600 + "1")
    with pytest.raises(ValueError, match="nested too deeply"):
        calculate("-" * 250 + "1")
    with pytest.raises(ValueError, match="nested too deeply"):
        calculate("abs(-" * 150 + "1" + ")" * 150)
    assert calculate("2 ** 4000")["result"] == 2**4000  # under the cap: exact
    assert calculate("+".join(["1"] * 150))["result"] == 150  # a long flat sum is not "too deep"


def test_calculator_never_evaluates(monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    assert calculate("2 * 21")["result"] == 42


# --------------------------------------------------------------------------- units
@pytest.mark.parametrize("value, source, target, expected, dimension", [
    (1, "mile", "km", 1.609344, "length"), (12, "inches", "ft", 1.0, "length"), (5, "km", "m", 5000.0, "length"),
    (1, "kg", "lb", 2.20462262185, "mass"), (16, "oz", "pound", 1.0, "mass"), (1, "gallon", "l", 3.785411784, "volume"),
    (1, "cup", "ml", 236.5882365, "volume"), (100, "celsius", "fahrenheit", 212.0, "temperature"),
    (32, "F", "C", 0.0, "temperature"), (0, "K", "celsius", -273.15, "temperature"),
    (36, "km/h", "m/s", 10.0, "speed"), (60, "mph", "kph", 96.56064, "speed"), (1, "knot", "km/h", 1.852, "speed"),
    (90, "min", "hour", 1.5, "time"), (2, "weeks", "days", 14.0, "time"), (1, "year", "day", 365.25, "time"),
    (1, "GiB", "MiB", 1024.0, "data"), (1, "GB", "MB", 1000.0, "data"), (1, "byte", "bit", 8.0, "data"),
    (100, "Mb", "MB", 12.5, "data"), (1, "mb", "kilobyte", 1000.0, "data"),
])
def test_convert_units_golden(value, source, target, expected, dimension):
    out = convert_units(value, source, target)
    assert out["result"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert out["dimension"] == dimension and out["value"] == value


def test_convert_units_canonical_names_and_no_float_noise():
    out = convert_units(0.1, "Kilometres", "METERS")
    assert (out["from_unit"], out["to_unit"], out["result"]) == ("kilometer", "meter", 100.0)
    assert convert_units(0.3, "m", "cm")["result"] == 30.0


def test_convert_units_errors():
    with pytest.raises(ValueError, match=r"cannot convert kilogram \(mass\) to meter \(length\)"):
        convert_units(1, "kg", "m")
    with pytest.raises(ValueError, match="unknown unit 'furlongs'.*length: millimeter"):
        convert_units(1, "furlongs", "m")
    with pytest.raises(ValueError, match="below absolute zero"):
        convert_units(-300, "celsius", "kelvin")
    with pytest.raises(ValueError, match="finite number"):
        convert_units(float("nan"), "m", "km")


# --------------------------------------------------------------------------- dates
@pytest.mark.parametrize("start, end, unit, value, rest, total", [
    ("2024-01-01", "2024-12-25", "days", 359, 0, 359),
    ("2024-01-01", "2024-12-25", "weeks", 51, 2, 359),
    ("2024-01-31", "2024-03-01", "months", 1, 1, 30),
    ("2024-01-15", "2024-04-15", "months", 3, 0, 91),
    ("2020-02-29", "2024-03-01", "years", 4, 1, 1462),
    ("1990-06-15", "2024-06-14", "years", 33, 365, 12418),
    ("2024-03-01", "2020-02-29", "years", -4, -1, -1462),
    ("2024-05-05", "2024-05-05", "months", 0, 0, 0),
])
def test_date_difference_golden(start, end, unit, value, rest, total):
    out = date_difference(start, end, unit)
    assert (out["value"], out["remainder_days"], out["total_days"], out["unit"]) == (value, rest, total, unit)


def test_date_difference_default_unit_is_days():
    assert date_difference("2000-01-01", "2000-03-01")["value"] == 60  # leap year


@pytest.mark.parametrize("kwargs, expected, weekday", [
    ({"days": 10}, "2024-02-10", "Saturday"), ({"months": 1}, "2024-02-29", "Thursday"),
    ({"years": 1, "months": 1}, "2025-02-28", "Friday"), ({"weeks": -1, "days": -1}, "2024-01-23", "Tuesday"),
    ({"months": -13}, "2022-12-31", "Saturday"), ({}, "2024-01-31", "Wednesday"),
])
def test_add_to_date_golden(kwargs, expected, weekday):
    assert add_to_date("2024-01-31", **kwargs) == {"date": expected, "day_of_week": weekday}


def test_day_of_week_golden():
    assert day_of_week("2000-01-01") == {"date": "2000-01-01", "day_of_week": "Saturday", "iso_weekday": 6,
                                         "iso_week": 52, "iso_year": 1999}
    assert day_of_week("1969-07-20")["day_of_week"] == "Sunday"


@pytest.mark.parametrize("call, needle", [
    (lambda: day_of_week("2023-02-29"), "'2023-02-29' is not a valid date"),
    (lambda: day_of_week("next tuesday"), "YYYY-MM-DD"),
    (lambda: date_difference("2024-01-01", "soon"), "end 'soon' is not a valid date"),
    (lambda: date_difference("2024-01-01", "2024-02-01", "fortnights"), "unit must be one of"),
    (lambda: add_to_date("9999-12-01", months=1), "outside the supported years"),
    (lambda: add_to_date("9999-12-31", days=1), "outside the supported years"),
    (lambda: add_to_date("2024-01-01", days=1.5), "days must be a whole number"),
])
def test_date_errors(call, needle):
    with pytest.raises(ValueError) as info:
        call()
    assert needle in str(info.value)


# --------------------------------------------------------------------------- knowledge
def test_knowledge_base_is_bundled_and_well_formed():
    facts = load_facts()
    assert 35 <= len(facts) <= 60
    assert len({f["topic"] for f in facts}) == len(facts)
    for fact in facts:
        assert {"topic", "category", "aliases", "fields", "summary"} <= fact.keys()
        assert fact["fields"] and fact["summary"]


@pytest.mark.parametrize("topic, field, value", [
    ("France", "capital", "Paris"), ("japan", "currency_code", "JPY"), ("USA", "currency code", "USD"),
    ("the UK", "capital", "London"), ("Australia", "Capital", "Canberra"), ("Mars", "moons", 2),
    ("Au", "atomic_number", 79), ("iron", "symbol", "Fe"), ("Everest", "height_m", 8849),
    ("Neptune", "position-from-sun", 8),
])
def test_lookup_fact_golden(topic, field, value):
    out = lookup_fact(topic, field)
    assert out["value"] == value and out["field"] == field.lower().replace(" ", "_").replace("-", "_")


def test_lookup_fact_whole_topic():
    out = lookup_fact("Kenya")
    assert out["topic"] == "Kenya" and out["category"] == "country"
    assert out["fields"]["capital"] == "Nairobi" and "summary" in out


def test_lookup_fact_errors_are_helpful():
    with pytest.raises(ValueError, match="Did you mean: Germany"):
        lookup_fact("Germny")
    with pytest.raises(ValueError, match="search_facts"):
        lookup_fact("Atlantis")
    with pytest.raises(ValueError, match="France has no field 'population'; available fields: capital"):
        lookup_fact("France", "population")
    with pytest.raises(ValueError, match="topic is empty"):
        lookup_fact("  ")


def test_search_facts_ranks_and_limits():
    out = search_facts("gas giant", limit=2)
    assert [r["topic"] for r in out["results"]] == ["Saturn", "Jupiter"] and out["count"] == 2
    assert search_facts("capital of Kenya")["results"][0]["topic"] == "Kenya"
    assert search_facts("EUR")["count"] == 4
    assert search_facts("noble gas")["results"][0]["topic"] == "Helium"
    assert search_facts("zzzzqqq") == {"query": "zzzzqqq", "count": 0, "results": []}


def test_search_facts_errors():
    with pytest.raises(ValueError, match="query is empty"):
        search_facts("")
    with pytest.raises(ValueError, match="limit must be a whole number from 1 to 20"):
        search_facts("euro", limit=0)


# --------------------------------------------------------------------------- registry and executor
def test_registry_exports_valid_openai_tools():
    assert REGISTRY.names() == NAMES
    tools = REGISTRY.tools()
    assert validate_tools(tools)  # the project's own tool-definition check
    for tool in tools:
        fn = tool["function"]
        assert tool["type"] == "function" and fn["description"]
        Draft202012Validator.check_schema(fn["parameters"])
        assert fn["parameters"]["type"] == "object"
        for name, prop in fn["parameters"]["properties"].items():
            assert prop.get("description"), f"{fn['name']}.{name} has no description"
    by_name = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert by_name["date_difference"]["properties"]["unit"]["enum"] == ["days", "weeks", "months", "years"]
    assert by_name["lookup_fact"]["required"] == ["topic"]
    assert by_name["lookup_fact"]["properties"]["field"]["type"] == ["string", "null"]
    json.dumps(tools)
    assert build_registry().names() == NAMES  # a fresh copy can be built


@pytest.mark.parametrize("name, arguments, needle", [
    ("calculate", {"expression": "2 ** 10"}, '"result": 1024'),
    ("convert_units", {"value": 100, "from_unit": "C", "to_unit": "F"}, '"result": 212.0'),
    ("date_difference", {"start": "2024-01-01", "end": "2024-03-01", "unit": "months"}, '"value": 2'),
    ("add_to_date", {"date": "2024-01-31", "months": 1}, '"2024-02-29"'),
    ("day_of_week", {"date": "2024-07-04"}, "Thursday"),
    ("lookup_fact", {"topic": "Brazil", "field": "capital"}, "Brasília"),
    ("lookup_fact", {"topic": "Brazil", "field": None}, "Portuguese"),
    ("search_facts", '{"query": "ice giant", "limit": 2}', "Uranus"),
])
def test_executor_runs_each_tool(name, arguments, needle):
    result = Executor(REGISTRY, timeout_s=10).execute({"name": name, "arguments": arguments})
    assert result.status == "ok", result.content
    assert needle in result.content


@pytest.mark.parametrize("name, arguments, status, needle", [
    ("calculate", {"expression": "__import__('os')"}, "error", "ValueError: unknown function '__import__'"),
    ("calculate", {"expression": "10**10**10"}, "error", "too large"),
    ("convert_units", {"value": 1, "from_unit": "kg", "to_unit": "km"}, "error", "cannot convert kilogram"),
    ("day_of_week", {"date": "2024-13-01"}, "error", "YYYY-MM-DD"),
    ("lookup_fact", {"topic": "Pluto"}, "error", "no topic named 'Pluto'"),
    ("date_difference", {"start": "2024-01-01", "end": "2024-02-01", "unit": "decades"}, "invalid_arguments", "unit"),
    ("add_to_date", {"date": "2024-01-01", "days": 1.5}, "invalid_arguments", "days"),
    ("search_facts", {"query": "x", "limit": 0}, "error", "limit must be"),
    ("calculate", {}, "invalid_arguments", "expression"),
])
def test_executor_reports_errors(name, arguments, status, needle):
    result = Executor(REGISTRY, timeout_s=10).execute({"name": name, "arguments": arguments})
    assert result.status == status, result.content
    assert needle in result.content and result.content.startswith("Error:")
