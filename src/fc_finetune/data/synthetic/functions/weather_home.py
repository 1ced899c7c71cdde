"""Synthetic functions: weather and smart home."""

from __future__ import annotations

from ..pools import CITIES, CITY_INFO, LIGHT_COLORS, ROOMS, clock, pick
from ..spec import FunctionSpec, array, boolean, integer, maybe, number, params, string

UNITS = ["celsius", "fahrenheit"]
CONDITIONS = ["sunny", "partly cloudy", "overcast", "light rain", "clear", "windy", "foggy", "showers"]
POLLUTANTS = ["pm2_5", "pm10", "o3", "no2", "so2", "co"]
POLLUTANT_NAMES = {"pm2_5": "PM2.5", "pm10": "PM10", "o3": "ozone", "no2": "NO2", "so2": "SO2", "co": "CO"}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ALARM_LABELS = ["Gym", "Work", "Take medication", "Catch the train", "Yoga", "School run"]


def _temp(city: str, unit: str, r) -> int:
    celsius = (CITY_INFO[city][1] if city in CITY_INFO else 15) + r.randint(-7, 7)
    return round(celsius * 9 / 5 + 32) if unit == "fahrenheit" else celsius


def _unit_sample(r, args: dict) -> dict:
    if maybe(r, 0.45):
        args["unit"] = r.choice(UNITS)
    return args


def _deg(args: dict, out: dict) -> dict:
    return {"u": "F" if out.get("unit") == "fahrenheit" else "C"}


def _current_run(args, r):
    unit = args.get("unit", "celsius")
    return {"city": args["city"], "temperature": _temp(args["city"], unit, r), "unit": unit,
            "condition": r.choice(CONDITIONS), "humidity": r.randint(30, 95), "wind_kph": r.randint(0, 40)}


CURRENT_WEATHER = FunctionSpec(
    name="get_current_weather", domain="weather", task="check the current weather",
    description="Get the current weather conditions for a city.",
    parameters=params({"city": string("City name, e.g. 'Paris'.")},
                      {"unit": string("Temperature unit.", enum=UNITS, default="celsius")}),
    sample=lambda r: _unit_sample(r, {"city": pick(r, CITIES)}), run=_current_run,
    requests=("What's the weather like in {city} right now?", "How warm is it in {city} at the moment?",
              "Current weather for {city}, please.", "Tell me the current conditions in {city}.",
              "what's it like outside in {city} today", "Do I need a jacket in {city} right now?"),
    extras={"unit": ("Give me the temperature in {unit}.", "Use {unit}, please.", "In {unit}.")},
    vary="city",
    pair_requests=("What's the weather in {x1} and {x2} right now?",
                   "Compare the current weather in {x1} and {x2}.", "How warm is it in {x1} and in {x2}?"),
    answers=("It's currently {temperature}°{u} and {condition} in {city}, with {humidity}% humidity.",
             "Right now {city} is {condition} at {temperature}°{u} (humidity {humidity}%, wind {wind_kph} km/h).",
             "The weather in {city}: {temperature}°{u}, {condition}."),
    answer_slots=_deg,
)


def _forecast_sample(r):
    args = {"city": pick(r, CITIES)}
    if maybe(r, 0.7):
        args["days"] = r.randint(1, 10)
    _unit_sample(r, args)
    if maybe(r, 0.15):
        args["include_hourly"] = True
    return args


def _forecast_run(args, r):
    unit = args.get("unit", "celsius")
    days = []
    for day in range(1, args.get("days", 3) + 1):
        high = _temp(args["city"], unit, r) + 3
        days.append({"day": day, "high": high, "low": high - r.randint(4, 10), "condition": r.choice(CONDITIONS),
                     "precipitation_chance": r.choice((0, 10, 20, 40, 60, 80))})
    out = {"city": args["city"], "unit": unit, "days": days}
    if args.get("include_hourly"):
        out["hourly_available"] = True
    return out


def _forecast_summary(args, out):
    parts = [f"day {d['day']}: {d['condition']}, {d['low']}-{d['high']}°" for d in out["days"][:4]]
    more = f" (and {len(out['days']) - 4} more days)" if len(out["days"]) > 4 else ""
    return {"summary": "; ".join(parts) + more, "n_days": str(len(out["days"])), **_deg(args, out)}


FORECAST = FunctionSpec(
    name="get_weather_forecast", domain="weather", task="give weather forecasts",
    description="Get a daily weather forecast for a city for the coming days.",
    parameters=params({"city": string("City name.")},
                      {"days": integer("Number of days to forecast.", minimum=1, maximum=14, default=3),
                       "unit": string("Temperature unit.", enum=UNITS, default="celsius"),
                       "include_hourly": boolean("Also return hourly detail.", default=False)}),
    sample=_forecast_sample, run=_forecast_run,
    requests=("What's the forecast for {city} for the next {days} days?", "Give me the weather forecast for {city}.",
              "Will it rain in {city} over the next few days?", "I'm travelling to {city}; what's the forecast?",
              "{days}-day forecast for {city} please"),
    extras={"days": ("I need the next {days} days.", "Cover {days} days."),
            "unit": ("Temperatures in {unit}.", "Use {unit}."),
            "include_hourly": ("Include the hourly breakdown too.", "Hourly detail as well, please.")},
    vary="city", pair_requests=("What's the forecast for {x1} and for {x2}?",),
    answers=("Forecast for {city} ({n_days} days, °{u}): {summary}.", "Here's what {city} looks like: {summary}."),
    answer_slots=_forecast_summary,
)


def _air_sample(r):
    args = {"city": pick(r, CITIES)}
    if maybe(r, 0.35):
        args["pollutants"] = r.sample(POLLUTANTS, r.randint(1, 3))
    return args


def _air_run(args, r):
    aqi = r.randint(12, 160)
    category = "good" if aqi <= 50 else "moderate" if aqi <= 100 else "unhealthy for sensitive groups"
    levels = {p: round(r.uniform(2, 60), 1) for p in args.get("pollutants", ["pm2_5", "o3"])}
    return {"city": args["city"], "aqi": aqi, "category": category, "pollutants_ugm3": levels}


AIR_QUALITY = FunctionSpec(
    name="get_air_quality", domain="weather", task="report air quality",
    description="Get the air quality index (AQI) and pollutant levels for a city.",
    parameters=params({"city": string("City name.")},
                      {"pollutants": array(string("Pollutant code.", enum=POLLUTANTS),
                                           "Pollutants to report. Default: pm2_5 and o3.", max_items=6)}),
    sample=_air_sample, run=_air_run,
    requests=("How's the air quality in {city} today?", "Is the air in {city} safe for a run?",
              "What's the AQI in {city}?", "Check the pollution level in {city}."),
    extras={"pollutants": ("Include {pollutant_names} levels.", "I care about {pollutant_names}.")},
    vary="city", pair_requests=("Compare the air quality in {x1} and {x2}.",),
    text_slots=lambda a: {"pollutant_names": " and ".join(POLLUTANT_NAMES[p] for p in a.get("pollutants", []))},
    answers=("The AQI in {city} is {aqi}, which is {category}. Levels: {levels}.",
             "Air quality in {city} is {category} (AQI {aqi}); {levels}."),
    answer_slots=lambda a, o: {"levels": ", ".join(f"{POLLUTANT_NAMES[k]} {v} µg/m³"
                                                   for k, v in o["pollutants_ugm3"].items())},
)


def _thermo_sample(r):
    args = {"room": pick(r, ROOMS), "temperature": r.choice((18, 19, 20, 20.5, 21, 21.5, 22, 23, 24, 25))}
    if maybe(r, 0.4):
        args["mode"] = r.choice(["heat", "cool", "auto", "eco"])
    return args


THERMOSTAT = FunctionSpec(
    name="set_thermostat", domain="smart_home", task="control the thermostat",
    description="Set the target temperature (in celsius) of a room's thermostat.",
    parameters=params({"room": string("Room name, e.g. 'living room'."),
                       "temperature": number("Target temperature in celsius.", minimum=10, maximum=30)},
                      {"mode": string("Operating mode.", enum=["heat", "cool", "auto", "eco"], default="auto")}),
    sample=_thermo_sample,
    run=lambda a, r: {"room": a["room"], "target_temperature": a["temperature"], "mode": a.get("mode", "auto"),
                      "current_temperature": round(a["temperature"] + r.uniform(-4, 4), 1), "status": "ok"},
    requests=("Set the {room} thermostat to {temperature} degrees.", "Can you make the {room} {temperature}°C?",
              "Change the temperature in the {room} to {temperature}.", "I'm cold, put the {room} at {temperature} degrees."),
    extras={"mode": ("Put it in {mode} mode.", "Use {mode} mode.")},
    answers=("Done: the {room} thermostat is set to {temperature}°C in {mode} mode. It's {current_temperature}°C in there now.",
             "The {room} is now targeting {temperature}°C ({mode} mode); currently {current_temperature}°C."),
)


def _lights_sample(r):
    action = r.choice(["on", "on", "off", "dim"])
    args = {"room": pick(r, ROOMS), "action": action}
    if action == "dim" or (action == "on" and maybe(r, 0.3)):
        args["brightness"] = r.choice((10, 20, 25, 30, 40, 50, 60, 75, 80))
    if action == "on" and maybe(r, 0.25):
        args["color"] = r.choice(LIGHT_COLORS)
    return args


LIGHTS = FunctionSpec(
    name="control_lights", domain="smart_home", task="control the lights",
    description="Turn the lights of a room on or off, dim them, or change their colour.",
    parameters=params({"room": string("Room name."), "action": string("What to do.", enum=["on", "off", "dim"])},
                      {"brightness": integer("Brightness in percent.", minimum=0, maximum=100),
                       "color": string("Light colour.", enum=LIGHT_COLORS)}),
    sample=_lights_sample,
    run=lambda a, r: {"room": a["room"], "power": "off" if a["action"] == "off" else "on",
                      "brightness": 0 if a["action"] == "off" else a.get("brightness", 100),
                      "color": a.get("color", "warm white"), "bulbs": r.randint(1, 6)},
    requests=("Please {verb} the {room} lights.", "Can you {verb} the lights in the {room}?",
              "{verb} the {room} lights", "Could you {verb} the lights in the {room} for me?"),
    text_slots=lambda a: {"verb": {"on": "turn on", "off": "turn off", "dim": "dim"}[a["action"]]},
    extras={"brightness": ("Set the brightness to {brightness}%.", "{brightness}% brightness."),
            "color": ("Make them {color}.", "Use {color} light.")},
    answers=("The {room} lights are now {power} ({bulbs} bulb(s), {brightness}% brightness).",
             "Done, {room} lights {power} at {brightness}%."),
)

LOCK = FunctionSpec(
    name="lock_door", domain="smart_home", task="lock or unlock doors",
    description="Lock or unlock one of the smart locks of the house.",
    parameters=params({"door": string("Which door.", enum=["front", "back", "garage", "side"]),
                       "lock": boolean("True to lock, false to unlock.")}),
    sample=lambda r: {"door": r.choice(["front", "back", "garage", "side"]), "lock": maybe(r, 0.65)},
    run=lambda a, r: {"door": a["door"], "locked": a["lock"], "battery_percent": r.randint(20, 100)},
    requests=("{verb} the {door} door.", "Can you {verb} the {door} door, please?",
              "Please {verb} the {door} door for me.", "I forgot to {verb} the {door} door, can you do it?"),
    text_slots=lambda a: {"verb": "lock" if a["lock"] else "unlock"},
    answers=("The {door} door is now {state}. Lock battery: {battery_percent}%.", "Done, the {door} door is {state}."),
    answer_slots=lambda a, o: {"state": "locked" if o["locked"] else "unlocked"},
)


def _alarm_sample(r):
    args = {"time": clock(r, first_hour=5, last_hour=9)}
    if maybe(r, 0.4):
        args["label"] = r.choice(ALARM_LABELS)
    if maybe(r, 0.3):
        args["repeat_days"] = sorted(r.sample(WEEKDAYS, r.randint(1, 5)), key=WEEKDAYS.index)
    if maybe(r, 0.15):
        args["snooze_minutes"] = r.choice((5, 10, 15))
    return args


ALARM = FunctionSpec(
    name="set_alarm", domain="smart_home", task="set alarms",
    description="Set an alarm clock, optionally repeating on given weekdays.",
    parameters=params({"time": string("Alarm time, HH:MM (24h).")},
                      {"label": string("Label shown when the alarm rings."),
                       "repeat_days": array(string("Weekday.", enum=WEEKDAYS), "Days to repeat on.", max_items=7),
                       "snooze_minutes": integer("Snooze length.", minimum=1, maximum=30, default=9)}),
    sample=_alarm_sample,
    run=lambda a, r: {"alarm_id": f"alarm-{r.randint(100, 999)}", "time": a["time"],
                      "repeats": a.get("repeat_days", []), "snooze_minutes": a.get("snooze_minutes", 9)},
    requests=("Set an alarm for {time}.", "Wake me up at {time}.", "I need an alarm at {time}.",
              "alarm at {time} please"),
    extras={"label": ("Label it '{label}'.", "Call it {label}."), "repeat_days": ("Repeat it on {repeat_days}.",),
            "snooze_minutes": ("Snooze should be {snooze_minutes} minutes.",)},
    answers=("Your alarm is set for {time}{rep}.", "Alarm {alarm_id} set for {time}{rep}."),
    answer_slots=lambda a, o: {"rep": f", repeating on {', '.join(o['repeats'])}" if o["repeats"] else ""},
)

FUNCTIONS = [CURRENT_WEATHER, FORECAST, AIR_QUALITY, THERMOSTAT, LIGHTS, LOCK, ALARM]
