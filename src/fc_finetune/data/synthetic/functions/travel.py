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
from ..spec import FunctionSpec, array, boolean, integer, maybe, money, number, obj, params, string

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


SEARCH_FLIGHTS = FunctionSpec(
    name="search_flights", domain="travel", task="search for flights",
    description="Search for flights between two cities on a date; results sorted by price.",
    parameters=params({"origin": string("Departure city."), "destination": string("Arrival city."),
                       "date": string("Departure date, YYYY-MM-DD.")},
                      {"passengers": integer("Number of travellers.", minimum=1, maximum=9, default=1),
                       "cabin": string("Cabin class.", enum=CABINS, default="economy"),
                       "nonstop_only": boolean("Only direct flights.", default=False)}),
    sample=_flights_sample, run=_flights_run,
    requests=("Find flights from {origin} to {destination} on {date}.", "I need to fly {origin} to {destination} on {date}.",
              "Are there any flights from {origin} to {destination} on {date}?",
              "Search flights {origin} -> {destination}, {date}.", "What's the cheapest way to fly from {origin} to {destination} on {date}?"),
    extras={"passengers": ("We are {passengers} passengers.", "For {passengers} people."),
            "cabin": ("In {cabin_text}.", "{cabin_text} class please."),
            "nonstop_only": ("Direct flights only.", "No layovers, please.")},
    text_slots=lambda a: {"cabin_text": a.get("cabin", "economy").replace("_", " ")},
    vary="destination", pair_requests=("Find flights from {origin} on {date} to both {x1} and {x2}.",),
    answers=("I found {n} flights from {origin} to {destination} on {date}. The cheapest is {best_airline} {best_id} "
             "at ${best_price}, departing {best_departure} with {best_stops} stop(s).",
             "Cheapest option: {best_id} ({best_airline}), ${best_price}, leaves at {best_departure}."),
    answer_slots=_cheapest,
)


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


BOOK_FLIGHT = FunctionSpec(
    name="book_flight", domain="travel", task="book flights",
    description="Book a seat on a specific flight for one passenger.",
    parameters=params({"flight_id": string("Flight identifier from a search, e.g. 'LH4821'."),
                       "passenger": obj({"first_name": string("Given name."), "last_name": string("Family name."),
                                         "email": string("Contact e-mail for the ticket.")},
                                        description="Who travels.")},
                      {"seat_preference": string("Preferred seat.", enum=["window", "aisle", "middle"]),
                       "checked_bags": integer("Checked bags.", minimum=0, maximum=3, default=0)}),
    sample=_book_sample, run=_book_run,
    requests=("Book flight {flight_id} for {first_name} {last_name} ({email}).",
              "Please reserve a seat on {flight_id} for {first_name} {last_name}, email {email}.",
              "Get {first_name} {last_name} on flight {flight_id}. The ticket should go to {email}."),
    text_slots=lambda a: dict(a["passenger"]),
    extras={"seat_preference": ("A {seat_preference} seat, please.", "Prefer {seat_preference}."),
            "checked_bags": ("Add {checked_bags} checked bag(s).",)},
    answers=("Booked! {passenger} is on {flight_id}, seat {seat}. Confirmation code {confirmation_code}.",
             "Your ticket on {flight_id} is confirmed ({confirmation_code}), seat {seat}."),
)


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


SEARCH_HOTELS = FunctionSpec(
    name="search_hotels", domain="travel", task="find hotels",
    description="Search for available hotels in a city for given dates.",
    parameters=params({"city": string("City to stay in."), "check_in": string("Arrival date, YYYY-MM-DD."),
                       "check_out": string("Departure date, YYYY-MM-DD.")},
                      {"guests": integer("Number of guests.", minimum=1, maximum=10, default=2),
                       "max_price_per_night": number("Budget per night in USD.", minimum=0),
                       "amenities": array(string("Amenity.", enum=AMENITIES), "Required amenities.", max_items=6)}),
    sample=_hotel_sample, run=_hotel_run,
    requests=("Find me a hotel in {city} from {check_in} to {check_out}.",
              "I need a place to stay in {city}, checking in {check_in} and out {check_out}.",
              "Any hotels available in {city} between {check_in} and {check_out}?"),
    extras={"guests": ("For {guests} guests.", "There will be {guests} of us."),
            "max_price_per_night": ("Under {max_price_per_night} dollars a night.", "Budget: {max_price_per_night} per night."),
            "amenities": ("It must have {amenities}.", "I need {amenities}.")},
    answers=("Top pick in {city}: {top_name}, {top_rating} stars at ${top_price}/night ({n} options found).",
             "I found {n} hotel(s) in {city} for {check_in} to {check_out}; the best rated is {top_name} (${top_price}/night)."),
    answer_slots=lambda a, o: {"n": str(len(o["hotels"])), "top_name": o["hotels"][0]["name"],
                               "top_rating": str(o["hotels"][0]["rating"]), "top_price": str(o["hotels"][0]["price_per_night"])},
)

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


VISA = FunctionSpec(
    name="get_visa_requirements", domain="travel", task="check visa requirements",
    description="Check whether a citizen of one country needs a visa to visit another.",
    parameters=params({"citizenship": string("Traveller's citizenship (country name)."),
                       "destination_country": string("Country to visit.")},
                      {"purpose": string("Purpose of the trip.", enum=["tourism", "business", "study"], default="tourism")}),
    sample=_visa_sample, run=_visa_run,
    requests=("Do I need a visa for {destination_country} with a {citizenship} passport?",
              "Visa requirements for {citizenship} citizens travelling to {destination_country}?",
              "I'm from {citizenship}. Can I go to {destination_country} without a visa?"),
    extras={"purpose": ("It's a {purpose} trip.", "The trip is for {purpose}.")},
    vary="destination_country", pair_requests=("As a {citizenship} citizen, do I need visas for {x1} and {x2}?",),
    answers=("{verdict}", "For {citizenship} citizens going to {destination_country}: {verdict}"),
    answer_slots=lambda a, o: {"verdict": f"No visa is needed for {o['purpose']} stays of up to {o['max_stay_days']} days."
                               if not o["visa_required"] else
                               f"A visa is required; processing takes about {o['processing_days']} days."},
)

FUNCTIONS = [SEARCH_FLIGHTS, BOOK_FLIGHT, SEARCH_HOTELS, VISA]
