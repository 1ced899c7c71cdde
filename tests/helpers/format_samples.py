"""Hand-written rows in each dataset format, modelled on the public datasets' layouts.

Each function returns a fresh row. Shared by tests/test_formats_*.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers import ROOT

WEATHER_FN = {"name": "get_weather", "description": "Current weather for a city.",
              "parameters": {"type": "object",
                             "properties": {"city": {"type": "string", "description": "City name"},
                                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                             "required": ["city"]}}


def weather_tools() -> list[dict]:
    return [{"type": "function", "function": json.loads(json.dumps(WEATHER_FN))}]


def external_dir() -> Path:
    """Real third-party data: $FC_FINETUNE_EXTERNAL_DATA, else ../shared/data/external."""
    env = os.environ.get("FC_FINETUNE_EXTERNAL_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data" / "external"


def openai_row() -> dict:
    return {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "call_b", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\", \"unit\": \"celsius\"}"}}]},
            {"role": "tool", "tool_call_id": "call_b", "content": "{\"temp_c\": 24}"},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"temp_c\": 21}"},
            {"role": "assistant", "content": "Paris 21 °C, Rome 24 °C."},
        ],
        "tools": weather_tools(),
    }


def openai_legacy_row() -> dict:
    return {
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None,
             "function_call": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}},
            {"role": "function", "name": "get_weather", "content": "{\"temp_c\": 3}"},
            {"role": "assistant", "content": "3 °C in Oslo."},
        ],
        "functions": [dict(WEATHER_FN)],
    }


def sharegpt_row() -> dict:
    """LLaMA-Factory layout, as in glaive_toolcall_en_demo.json."""
    return {
        "conversations": [
            {"from": "human", "value": "Weather in Paris?"},
            {"from": "function_call", "value": "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"},
            {"from": "observation", "value": "{\"temp_c\": 21}"},
            {"from": "gpt", "value": "It is 21 °C in Paris."},
            {"from": "human", "value": "Thanks!"},
            {"from": "gpt", "value": "You're welcome."},
        ],
        "tools": json.dumps([WEATHER_FN]),
        "system": "You are a weather bot.",
    }


def xlam_row() -> dict:
    """Salesforce/xlam-function-calling-60k layout: Python type names, defaults, JSON strings."""
    tools = [
        {"name": "live_giveaways_by_type", "description": "Retrieve live giveaways from the GamerPower API.",
         "parameters": {"type": {"description": "The type of giveaways to retrieve (e.g., game, loot, beta).",
                                 "type": "str", "default": "game"}}},
        {"name": "find_max_subarray_sum", "description": "Finds the maximum sum of a contiguous subarray.",
         "parameters": {"nums": {"description": "The input list of integers.", "type": "List[int]"}}},
        {"name": "calculate_distance", "description": "Euclidean distance between two points.",
         "parameters": {"point1": {"description": "First point.", "type": "List[float]"},
                        "point2": {"description": "Second point.", "type": "Tuple[float, float]"},
                        "precision": {"description": "Decimals.", "type": "int, optional"},
                        "options": {"description": "Extra options.", "type": "Optional[Dict[str, Any]]"}}},
    ]
    answers = [{"name": "live_giveaways_by_type", "arguments": {"type": "beta"}},
               {"name": "find_max_subarray_sum", "arguments": {"nums": [1, -2, 3]}}]
    return {"id": 7, "query": "Where can I find live giveaways for beta access, and the best subarray of [1,-2,3]?",
            "tools": json.dumps(tools), "answers": json.dumps(answers)}


GLAIVE_SYSTEM = (
    "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
    + json.dumps({"name": "get_news_headlines", "description": "Get the latest news headlines",
                  "parameters": {"type": "object",
                                 "properties": {"country": {"type": "string",
                                                            "description": "The country for which to fetch news"}},
                                 "required": ["country"]}}, indent=4)
    + "\n\n"
    + json.dumps({"name": "send_message", "description": "Send a message",
                  "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
                                 "required": ["text"]}}, indent=4)
    + "\n"
)


def glaive_row() -> dict:
    """glaiveai/glaive-function-calling-v2 layout: single-quoted JSON-string arguments."""
    chat = (
        "USER: Can you tell me the latest news headlines for the United States?\n\n\n"
        "ASSISTANT: <functioncall> {\"name\": \"get_news_headlines\", \"arguments\": '{\"country\": \"United States\"}'} "
        "<|endoftext|>\n\n\n"
        "FUNCTION RESPONSE: {\"headlines\": [\"Biden announces new vaccine mandates\", \"Hurricane Ida devastates Louisiana\"]}"
        "\n\n\n"
        "ASSISTANT: Here are the latest news headlines for the United States:\n"
        "1. Biden announces new vaccine mandates\n2. Hurricane Ida devastates Louisiana <|endoftext|>\n\n\n"
        "USER: Tell my friend: I'm reading the news.\n\n\n"
        "ASSISTANT: Sure. <functioncall> {\"name\": \"send_message\", \"arguments\": '{\"text\": \"I'm reading the news.\"}'} "
        "<|endoftext|>\n\n\n"
        "FUNCTION RESPONSE: {\"status\": \"sent\"}\n\n\n"
        "ASSISTANT: Your message has been sent. <|endoftext|>"
    )
    return {"system": GLAIVE_SYSTEM, "chat": chat}


HERMES_SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within <tools> </tools> "
    "XML tags. Here are the available tools: <tools> "
    "[{'type': 'function', 'function': {'name': 'get_stock_price', 'description': 'Get the stock price', "
    "'parameters': {'type': 'object', 'properties': {'symbol': {'type': 'string'}}, 'required': ['symbol']}}}, "
    "{'type': 'function', 'function': {'name': 'get_weather', 'description': 'Current weather for a city.', "
    "'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}}] "
    "</tools> For each function call return a json object with function name and arguments within "
    "<tool_call> </tool_call> XML tags."
)


def hermes_row() -> dict:
    """NousResearch hermes-function-calling-v1 layout (Python-literal tools and calls)."""
    return {
        "id": "h-1", "category": "Finance", "subcategory": "Stocks", "task": "prices",
        "conversations": [
            {"from": "system", "value": HERMES_SYSTEM},
            {"from": "human", "value": "Price of AAPL and weather in Paris?"},
            {"from": "gpt", "value": "<tool_call>\n{'arguments': {'symbol': 'AAPL'}, 'name': 'get_stock_price'}\n"
                                     "</tool_call>\n<tool_call>\n{'arguments': {'city': 'Paris'}, 'name': 'get_weather'}"
                                     "\n</tool_call>"},
            {"from": "tool", "value": "<tool_response>\n{\"name\": \"get_stock_price\", \"content\": {\"price\": 150.2}}"
                                      "\n</tool_response>\n<tool_response>\n{\"name\": \"get_weather\", "
                                      "\"content\": {\"temp_c\": 21}}\n</tool_response>"},
            {"from": "gpt", "value": "AAPL is at $150.20 and Paris is 21 °C."},
        ],
    }


def bfcl_rows() -> list[dict]:
    """BFCL v4 question rows (hand-written in the dataset's layout)."""
    return [
        {"id": "simple_python_1",
         "question": [[{"role": "user", "content": "Calculate the factorial of 5 using math functions."}]],
         "function": [{"name": "math.factorial", "description": "Calculate the factorial of a given number.",
                       "parameters": {"type": "dict", "properties": {
                           "number": {"type": "integer", "description": "The number."}}, "required": ["number"]}}]},
        {"id": "parallel_multiple_3",
         "question": [[{"role": "system", "content": "Answer with calls."},
                       {"role": "user", "content": "Area of a 3x4 rectangle and the mean of 1.5, 2.5."}]],
         "function": [
             {"name": "geometry.area", "description": "Area of a shape.",
              "parameters": {"type": "dict", "properties": {
                  "dims": {"type": "tuple", "items": {"type": "float"}, "description": "Sides."},
                  "shape": {"type": "string", "enum": ["rectangle", "circle"]},
                  "extra": {"type": "any", "description": "Anything.", "default": None},
                  "opts": {"type": "dict", "properties": {"round": {"type": "boolean"}}}},
                  "required": ["dims", "shape"]}},
             {"name": "stats.mean", "description": "Mean of numbers.",
              "parameters": {"type": "dict", "properties": {
                  "values": {"type": "array", "items": {"type": "float"}}}, "required": ["values"]}}]},
        {"id": "simple_java_4",
         "question": [[{"role": "user", "content": "Create a map called `cfg` with capacity 16."}]],
         "function": [{"name": "MapFactory.create", "description": "Creates a map.",
                       "parameters": {"type": "dict", "properties": {
                           "name": {"type": "String", "description": "Variable name."},
                           "capacity": {"type": "integer", "description": "Initial capacity."},
                           "entries": {"type": "HashMap", "description": "Initial entries."}},
                           "required": ["name", "capacity"]}}]},
    ]


def bfcl_answers() -> list[dict]:
    return [{"id": "simple_python_1", "ground_truth": [{"math.factorial": {"number": [5]}}]},
            {"id": "parallel_multiple_3", "ground_truth": [
                {"geometry.area": {"dims": [[3.0, 4.0]], "shape": ["rectangle"], "extra": ["", None]}},
                {"stats.mean": {"values": [[1.5, 2.5]]}}]}]


def all_rows() -> dict[str, dict]:
    """One sample row per format name."""
    return {"openai": openai_row(), "sharegpt": sharegpt_row(), "xlam": xlam_row(), "glaive": glaive_row(),
            "hermes": hermes_row(), "bfcl": bfcl_rows()[0],
            "canonical": {"messages": [{"role": "user", "content": "Hi"},
                                       {"role": "assistant", "content": "",
                                        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}],
                          "tools": weather_tools()}}
