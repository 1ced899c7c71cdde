"""Small hand-written canonical records shared by tests."""

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Local time in a timezone.",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}


def parallel_record():
    return {"tools": [TIME, WEATHER], "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome, in celsius?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
            {"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}]},
        {"role": "tool", "name": "get_weather", "content": '{"temp_c": 21}'},
        {"role": "tool", "name": "get_weather", "content": '{"temp_c": 24}'},
        {"role": "assistant", "content": "Paris is 21 °C and Rome 24 °C."},
    ]}


def multi_turn_record(turns=4):
    messages = []
    for i in range(turns):
        messages += [
            {"role": "user", "content": f"Question {i}: what time is it in zone {i}? " + "please " * 10},
            {"role": "assistant", "content": "", "tool_calls": [{"name": "get_time", "arguments": {"tz": f"Z{i}"}}]},
            {"role": "tool", "name": "get_time", "content": f'{{"time": "1{i}:00"}}'},
            {"role": "assistant", "content": f"It is 1{i}:00 in zone {i}."},
        ]
    return {"tools": [TIME, WEATHER], "messages": messages}
