"""Synthetic functions: maps, places and rides."""

from __future__ import annotations

from ..pools import CITY_INFO, STREETS, pick, pick_two
from ..spec import Behaviour, maybe

MODES = ["driving", "walking", "transit", "cycling"]
AVOID = ["tolls", "highways", "ferries"]
PLACE_TYPES = ["restaurant", "cafe", "pharmacy", "gas_station", "atm", "supermarket", "park", "museum", "hospital"]
PLACE_WORDS = {"restaurant": "restaurants", "cafe": "cafes", "pharmacy": "pharmacies", "gas_station": "gas stations",
               "atm": "ATMs", "supermarket": "supermarkets", "park": "parks", "museum": "museums",
               "hospital": "hospitals"}
LANDMARKS = ["Eiffel Tower", "Central Park", "Tower Bridge", "Colosseum", "Brandenburg Gate", "Sydney Opera House",
             "Golden Gate Bridge", "Times Square", "Shibuya Crossing", "Sagrada Familia"]
SPEED_KMH = {"driving": 45, "walking": 5, "transit": 25, "cycling": 15}


def _directions_sample(r):
    origin, destination = pick_two(r, STREETS[:5] + LANDMARKS)
    args = {"origin": origin, "destination": destination}
    if maybe(r, 0.5):
        args["mode"] = r.choice(MODES)
    if args.get("mode", "driving") == "driving" and maybe(r, 0.25):
        args["avoid"] = r.sample(AVOID, r.randint(1, 2))
    return args


def _directions_run(args, r):
    mode = args.get("mode", "driving")
    km = round(r.uniform(1.2, 25), 1)
    steps = [f"Head {r.choice(['north', 'south', 'east', 'west'])} for {r.randint(100, 900)} m",
             f"Turn {r.choice(['left', 'right'])} onto {r.choice(['Main St', 'Oak Ave', 'River Rd', 'High St'])}",
             f"Arrive at {args['destination']}"]
    return {"mode": mode, "distance_km": km, "duration_minutes": max(2, round(km / SPEED_KMH.get(mode, 30) * 60)),
            "steps": steps, "avoided": args.get("avoid", [])}


def _coords(place: str) -> tuple[float, float]:
    for city, info in CITY_INFO.items():
        if city in place:
            return info[2], info[3]
    return 40.7128, -74.006


def _geocode_run(args, r):
    lat, lon = _coords(args["address"])
    return {"address": args["address"], "latitude": round(lat + r.uniform(-0.03, 0.03), 5),
            "longitude": round(lon + r.uniform(-0.03, 0.03), 5)}


def nearby_args(r, latitude: float, longitude: float) -> dict:
    """Arguments for :data:`NEARBY` around a point (used by the sampler and by sequential chains)."""
    args = {"location": {"latitude": latitude, "longitude": longitude}, "place_type": r.choice(PLACE_TYPES)}
    if maybe(r, 0.35):
        args["radius_m"] = r.choice((200, 500, 1000, 2000, 5000))
    if maybe(r, 0.25):
        args["open_now"] = True
    if maybe(r, 0.2):
        args["min_rating"] = r.choice((3.5, 4, 4.5))
    return args


def _nearby_sample(r):
    _, _, lat, lon, _ = CITY_INFO[pick(r, CITY_INFO)]
    return nearby_args(r, round(lat + r.uniform(-0.02, 0.02), 4), round(lon + r.uniform(-0.02, 0.02), 4))


def _nearby_run(args, r):
    names = ["Corner", "Blue", "Golden", "Old Town", "Sunny", "Green", "Maple", "Harbor"]
    kind = args["place_type"]
    places = [{"name": f"{r.choice(names)} {kind.replace('_', ' ').title()}",
               "distance_m": r.randint(50, args.get("radius_m", 1500)),
               "rating": round(r.uniform(args.get("min_rating", 3.0), 5.0), 1), "open_now": args.get("open_now", True)}
              for _ in range(r.randint(1, 3))]
    return {"place_type": kind, "results": sorted(places, key=lambda p: p["distance_m"])}


def _ride_sample(r):
    pickup, dropoff = pick_two(r, STREETS)
    args = {"pickup": pickup, "dropoff": dropoff}
    if maybe(r, 0.4):
        args["ride_type"] = r.choice(["standard", "xl", "premium", "shared"])
    if maybe(r, 0.3):
        args["passengers"] = r.randint(1, 6)
    return args


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/maps.yaml.
BEHAVIOUR = {
    "get_directions": Behaviour(sample=_directions_sample, run=_directions_run, answer_slots=lambda a, o: {"first_step": o["steps"][0], "steps_text": "; ".join(o["steps"])}),
    "geocode_address": Behaviour(sample=lambda r: {"address": pick(r, STREETS)}, run=_geocode_run),
    "find_nearby_places": Behaviour(sample=_nearby_sample, run=_nearby_run, text_slots=lambda a: {"latitude": str(a["location"]["latitude"]), "longitude": str(a["location"]["longitude"]),
                          "places": PLACE_WORDS[a["place_type"]], "place": a["place_type"].replace("_", " ")}, answer_slots=lambda a, o: {"n": str(len(o["results"])), "top_name": o["results"][0]["name"],
                               "top_distance": str(o["results"][0]["distance_m"]),
                               "top_rating": str(o["results"][0]["rating"])}),
    "book_ride": Behaviour(sample=_ride_sample, run=lambda a, r: {"ride_id": f"RIDE-{r.randint(10000, 99999)}", "driver": r.choice(["Sam", "Ana", "Omar", "Mei"]),
                      "eta_minutes": r.randint(2, 15), "fare_estimate": round(r.uniform(8, 60), 2),
                      "ride_type": a.get("ride_type", "standard")}),
}
