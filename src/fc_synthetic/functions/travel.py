"""Synthetic functions: flights, hotels and visas."""

from __future__ import annotations

from ..pools import (
    AIRLINES,
    AIRPORTS,
    CITIES,
    CITIZENSHIPS,
    CITY_INFO,
    add_days,
    clock,
    date,
    email_of,
    person,
    pick,
    pick_two,
)
from ..spec import Behaviour, maybe, money

CABINS = ["economy", "premium_economy", "business", "first"]
AMENITIES = ["wifi", "pool", "gym", "parking", "breakfast", "spa"]
AIRLINE_CODES = {"Air France": "AF", "Lufthansa": "LH", "British Airways": "BA", "Delta": "DL", "United": "UA",
                 "KLM": "KL", "Emirates": "EK", "Singapore Airlines": "SQ", "ANA": "NH", "Iberia": "IB",
                 "Qantas": "QF", "Turkish Airlines": "TK"}
HOTEL_WORDS = ["Grand", "Park", "Royal", "Central", "Harbour", "Garden", "Plaza", "Riverside"]


def flight_id(r) -> str:
    """A flight identifier such as ``LH4821``."""
    return f"{r.choice(list(AIRLINE_CODES.values()))}{r.randint(100, 9899)}"


def _flights_sample(r):
    origin, destination = pick_two(r, AIRPORTS)
    args = {"origin": origin, "destination": destination, "date": date(r)}
    if maybe(r, 0.35):
        args["passengers"] = r.randint(1, 5)
    if maybe(r, 0.25):
        args["cabin"] = r.choice(CABINS)
    if maybe(r, 0.2):
        args["nonstop_only"] = True
    return args


def _flights_run(args, r):
    flights = []
    factor = {"economy": 1, "premium_economy": 1.6, "business": 3.5, "first": 6}[args.get("cabin", "economy")]
    for _ in range(r.randint(2, 4)):
        airline = r.choice(AIRLINES)
        flights.append({"flight_id": f"{AIRLINE_CODES[airline]}{r.randint(100, 9899)}", "airline": airline,
                        "departure": clock(r, first_hour=6, last_hour=22), "duration_minutes": r.randint(70, 900),
                        "stops": 0 if args.get("nonstop_only") else r.choice((0, 0, 1, 2)),
                        "price": round(r.uniform(90, 900) * factor * args.get("passengers", 1), 2), "currency": "USD"})
    return {"origin": AIRPORTS.get(args["origin"], args["origin"]),
            "destination": AIRPORTS.get(args["destination"], args["destination"]), "date": args["date"],
            "flights": sorted(flights, key=lambda f: f["price"])}


def _cheapest(args, out):
    best = out["flights"][0]
    return {"n": str(len(out["flights"])), "best_id": best["flight_id"], "best_airline": best["airline"],
            "best_price": money(best["price"]), "best_departure": best["departure"], "best_stops": str(best["stops"])}


def _book_sample(r):
    first, last = person(r)
    args = {"flight_id": flight_id(r), "passenger": {"first_name": first, "last_name": last,
                                                     "email": email_of(first, last)}}
    if maybe(r, 0.35):
        args["seat_preference"] = r.choice(["window", "aisle", "middle"])
    if maybe(r, 0.25):
        args["checked_bags"] = r.randint(0, 3)
    return args


def _book_run(args, r):
    seat_letter = {"window": "A", "aisle": "C", "middle": "B"}.get(args.get("seat_preference"), r.choice("ABCDEF"))
    code = "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
    return {"confirmation_code": code, "flight_id": args["flight_id"], "status": "ticketed",
            "passenger": f"{args['passenger']['first_name']} {args['passenger']['last_name']}",
            "seat": f"{r.randint(5, 40)}{seat_letter}", "checked_bags": args.get("checked_bags", 0)}


def _hotel_sample(r):
    check_in = date(r)
    args = {"city": pick(r, CITIES), "check_in": check_in, "check_out": add_days(check_in, r.randint(1, 7))}
    if maybe(r, 0.4):
        args["guests"] = r.randint(1, 4)
    if maybe(r, 0.3):
        args["max_price_per_night"] = r.choice((80, 120, 150, 200, 300))
    if maybe(r, 0.3):
        args["amenities"] = r.sample(AMENITIES, r.randint(1, 2))
    return args


def _hotel_run(args, r):
    cap = args.get("max_price_per_night", 400)
    hotels = [{"name": f"Hotel {r.choice(HOTEL_WORDS)} {args['city']}", "price_per_night": round(r.uniform(0.45, 1) * cap),
               "rating": round(r.uniform(3.2, 4.9), 1), "amenities": args.get("amenities", r.sample(AMENITIES, 2))}
              for _ in range(r.randint(1, 3))]
    return {"city": args["city"], "check_in": args["check_in"], "check_out": args["check_out"],
            "hotels": sorted(hotels, key=lambda h: -h["rating"])}


VISA_FREE = {"United States", "Canada", "United Kingdom", "Germany", "France", "Japan", "Australia", "Italy", "Spain"}


def _visa_sample(r):
    destination = r.choice(sorted({info[0] for info in CITY_INFO.values()}))
    args = {"citizenship": r.choice([c for c in CITIZENSHIPS if c != destination]), "destination_country": destination}
    if maybe(r, 0.3):
        args["purpose"] = r.choice(["tourism", "business", "study"])
    return args


def _visa_run(args, r):
    free = args["citizenship"] in VISA_FREE and args.get("purpose", "tourism") != "study"
    return {"citizenship": args["citizenship"], "destination_country": args["destination_country"],
            "visa_required": not free, "max_stay_days": 90 if free else None,
            "processing_days": None if free else r.choice((5, 10, 15, 30)), "purpose": args.get("purpose", "tourism")}


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/travel.yaml.
BEHAVIOUR = {
    "search_flights": Behaviour(sample=_flights_sample, run=_flights_run, text_slots=lambda a: {"cabin_text": a.get("cabin", "economy").replace("_", " ")}, answer_slots=_cheapest),
    "book_flight": Behaviour(sample=_book_sample, run=_book_run, text_slots=lambda a: dict(a["passenger"])),
    "search_hotels": Behaviour(sample=_hotel_sample, run=_hotel_run, answer_slots=lambda a, o: {"n": str(len(o["hotels"])), "top_name": o["hotels"][0]["name"],
                               "top_rating": str(o["hotels"][0]["rating"]), "top_price": str(o["hotels"][0]["price_per_night"])}),
    "get_visa_requirements": Behaviour(sample=_visa_sample, run=_visa_run, answer_slots=lambda a, o: {"verdict": f"No visa is needed for {o['purpose']} stays of up to {o['max_stay_days']} days."
                               if not o["visa_required"] else
                               f"A visa is required; processing takes about {o['processing_days']} days."}),
}
