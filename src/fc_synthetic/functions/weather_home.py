"""Synthetic functions: weather and smart home."""

from __future__ import annotations

from ..pools import CITIES, CITY_INFO, LIGHT_COLORS, ROOMS, clock, pick
from ..spec import Behaviour, maybe

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


def _thermo_sample(r):
    args = {"room": pick(r, ROOMS), "temperature": r.choice((18, 19, 20, 20.5, 21, 21.5, 22, 23, 24, 25))}
    if maybe(r, 0.4):
        args["mode"] = r.choice(["heat", "cool", "auto", "eco"])
    return args


def _lights_sample(r):
    action = r.choice(["on", "on", "off", "dim"])
    args = {"room": pick(r, ROOMS), "action": action}
    if action == "dim" or (action == "on" and maybe(r, 0.3)):
        args["brightness"] = r.choice((10, 20, 25, 30, 40, 50, 60, 75, 80))
    if action == "on" and maybe(r, 0.25):
        args["color"] = r.choice(LIGHT_COLORS)
    return args


def _alarm_sample(r):
    args = {"time": clock(r, first_hour=5, last_hour=9)}
    if maybe(r, 0.4):
        args["label"] = r.choice(ALARM_LABELS)
    if maybe(r, 0.3):
        args["repeat_days"] = sorted(r.sample(WEEKDAYS, r.randint(1, 5)), key=WEEKDAYS.index)
    if maybe(r, 0.15):
        args["snooze_minutes"] = r.choice((5, 10, 15))
    return args


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/weather_home.yaml.
BEHAVIOUR = {
    "get_current_weather": Behaviour(sample=lambda r: _unit_sample(r, {"city": pick(r, CITIES)}), run=_current_run, answer_slots=_deg),
    "get_weather_forecast": Behaviour(sample=_forecast_sample, run=_forecast_run, answer_slots=_forecast_summary),
    "get_air_quality": Behaviour(sample=_air_sample, run=_air_run, text_slots=lambda a: {"pollutant_names": " and ".join(POLLUTANT_NAMES[p] for p in a.get("pollutants", []))}, answer_slots=lambda a, o: {"levels": ", ".join(f"{POLLUTANT_NAMES[k]} {v} µg/m³"
                                                   for k, v in o["pollutants_ugm3"].items())}),
    "set_thermostat": Behaviour(sample=_thermo_sample, run=lambda a, r: {"room": a["room"], "target_temperature": a["temperature"], "mode": a.get("mode", "auto"),
                      "current_temperature": round(a["temperature"] + r.uniform(-4, 4), 1), "status": "ok"}),
    "control_lights": Behaviour(sample=_lights_sample, run=lambda a, r: {"room": a["room"], "power": "off" if a["action"] == "off" else "on",
                      "brightness": 0 if a["action"] == "off" else a.get("brightness", 100),
                      "color": a.get("color", "warm white"), "bulbs": r.randint(1, 6)}, text_slots=lambda a: {"verb": {"on": "turn on", "off": "turn off", "dim": "dim"}[a["action"]]}),
    "lock_door": Behaviour(sample=lambda r: {"door": r.choice(["front", "back", "garage", "side"]), "lock": maybe(r, 0.65)}, run=lambda a, r: {"door": a["door"], "locked": a["lock"], "battery_percent": r.randint(20, 100)}, text_slots=lambda a: {"verb": "lock" if a["lock"] else "unlock"}, answer_slots=lambda a, o: {"state": "locked" if o["locked"] else "unlocked"}),
    "set_alarm": Behaviour(sample=_alarm_sample, run=lambda a, r: {"alarm_id": f"alarm-{r.randint(100, 999)}", "time": a["time"],
                      "repeats": a.get("repeat_days", []), "snooze_minutes": a.get("snooze_minutes", 9)}, answer_slots=lambda a, o: {"rep": f", repeating on {', '.join(o['repeats'])}" if o["repeats"] else ""}),
}
