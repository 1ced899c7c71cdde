"""Canonical sample records shared by the data tests (fresh copies on every call)."""

from __future__ import annotations

import json
from pathlib import Path


def weather_tool() -> dict:
    return {"type": "function",
            "function": {"name": "get_weather", "description": "Current weather for a city.",
                         "parameters": {"type": "object",
                                        "properties": {"city": {"type": "string"},
                                                       "unit": {"type": "string",
                                                                "enum": ["celsius", "fahrenheit"]}},
                                        "required": ["city"]}}}


def time_tool() -> dict:
    return {"type": "function",
            "function": {"name": "get_time", "description": "Local time in a timezone.",
                         "parameters": {"type": "object", "properties": {"tz": {"type": "string"}},
                                        "required": ["tz"]}}}


def parallel_record() -> dict:
    """The record of docs/data-format.md: system, user, two parallel calls, results, answer."""
    return {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Weather in Paris and in Rome, in celsius?"},
            {"role": "assistant", "content": "",
             "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
                            {"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}]},
            {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 21}"},
            {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 24}"},
            {"role": "assistant", "content": "Paris is 21 °C and Rome 24 °C."},
        ],
        "tools": [weather_tool(), time_tool()],
        "meta": {"source": "sample", "index": 0},
    }


def no_call_record() -> dict:
    """A chat turn answered directly although a tool is offered."""
    return {"messages": [{"role": "user", "content": "Hello!"},
                         {"role": "assistant", "content": "Hi! How can I help?"}],
            "tools": [weather_tool()]}


def multi_turn_record() -> dict:
    """Two user turns: a single call, then a direct answer."""
    return {"messages": [
        {"role": "user", "content": "What time is it in Tokyo?"},
        {"role": "assistant", "content": "", "tool_calls": [{"name": "get_time", "arguments": {"tz": "Asia/Tokyo"}}]},
        {"role": "tool", "name": "get_time", "content": "09:30"},
        {"role": "assistant", "content": "It is 09:30 in Tokyo."},
        {"role": "user", "content": "Thanks!"},
        {"role": "assistant", "content": "You're welcome."}],
        "tools": [time_tool(), weather_tool()]}


def good_records() -> list[dict]:
    return [parallel_record(), no_call_record(), multi_turn_record()]


def write_jsonl_lines(path: Path, records: list) -> Path:
    """Write records one per line without going through the code under test."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
