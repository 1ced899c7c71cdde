"""Sequential multi-step examples: a first call whose result the second call depends on.

A :class:`Chain` names two catalogue functions and knows how to draw the first call's
arguments (plus any values the user states for the second step), how to derive the second
call's arguments from the first call's output (``link``), how the user phrases the whole
job, and how the assistant reports the outcome. Values the second call takes from the
first result appear in that tool output; everything else appears in the user's request.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .functions import BY_NAME
from .functions.health_files import FILE_TYPES, SPECIALTIES, compress_args
from .functions.maps import PLACE_TYPES, PLACE_WORDS
from .pools import (
    CITIES,
    DIRECTORIES,
    EMAIL_BODIES,
    EMAIL_SUBJECTS,
    INGREDIENTS,
    PRODUCTS,
    STOCKS,
    STREETS,
    clock,
    email_of,
    person,
    pick,
)
from .spec import Args, money

Slots = dict[str, str]


@dataclass(frozen=True)
class Chain:
    """Two dependent calls: ``first`` then ``second`` with arguments taken from the first result."""

    name: str
    first: str
    second: str
    sample: Callable[[random.Random], tuple[Args, Slots]]
    link: Callable[[Args, dict, Slots, random.Random], Args]
    requests: tuple[str, ...]
    answers: tuple[str, ...]
    answer_slots: Callable[[Args, dict, Args, dict], Slots]
    implied: tuple[str, ...] = ()
    """First-call arguments the request states in other words (``"cheapest"`` for ``sort_by``)."""


def _contact_message(r):
    return {"name": " ".join(person(r))}, {"subject": pick(r, EMAIL_SUBJECTS), "body": pick(r, EMAIL_BODIES)}


def _sms(r):
    return {"name": " ".join(person(r))}, {"message": r.choice(["Running late, start without me",
                                                                "Dinner is at 8", "Can you call me back?"])}


def _flight(r):
    args = BY_NAME["search_flights"].sample(r)
    args.pop("passengers", None)
    first, last = person(r)
    return args, {"first_name": first, "last_name": last, "email": email_of(first, last)}


def _book_link(a1, o1, slots, r):
    return {"flight_id": o1["flights"][0]["flight_id"],
            "passenger": {"first_name": slots["first_name"], "last_name": slots["last_name"], "email": slots["email"]}}


def _geocode(r):
    kind = r.choice(PLACE_TYPES)
    return {"address": r.choice(STREETS)}, {"place_type": kind, "places": PLACE_WORDS[kind]}


def _stock(r):
    return {"symbol": pick(r, STOCKS)}, {"to_currency": r.choice(["EUR", "GBP", "JPY", "CHF", "CAD", "INR"])}


def _recipe(r):
    return {"ingredients": r.sample(INGREDIENTS, r.randint(1, 2))}, {}


def _recipe_link(a1, o1, slots, r):
    needed = [i for i in o1["recipes"][0]["ingredients"] if i not in a1["ingredients"]]
    return {"items": [{"name": name} for name in needed or o1["recipes"][0]["ingredients"]]}


def _product(r):
    return {"query": pick(r, PRODUCTS), "sort_by": "price_asc"}, {"quantity": str(r.choice((1, 2, 3)))}


def _cart_link(a1, o1, slots, r):
    args = {"product_id": o1["results"][0]["product_id"]}
    if slots["quantity"] != "1":
        args["quantity"] = int(slots["quantity"])
    return args


def _files(r):
    archive_name = compress_args(r, ["x"])["archive_name"]
    return {"directory": r.choice(DIRECTORIES), "extension": r.choice(FILE_TYPES)}, {"archive_name": archive_name}


def _zip_link(a1, o1, slots, r):
    return {"paths": [f["path"] for f in o1["files"]], "archive_name": slots["archive_name"]}


def _detect(r):
    return BY_NAME["detect_language"].sample(r), {}


def _doctor(r):
    return {"specialty": r.choice(SPECIALTIES), "city": r.choice(CITIES)}, {"time": clock(r, first_hour=8, last_hour=16)}


def _doctor_link(a1, o1, slots, r):
    doctor = o1["doctors"][0]
    return {"title": doctor["name"], "date": doctor["next_available"], "start_time": slots["time"]}


CHAINS: tuple[Chain, ...] = (
    Chain("contact_then_email", "find_contact", "send_email", _contact_message,
          lambda a1, o1, s, r: {"to": [o1["email"]], "subject": s["subject"], "body": s["body"]},
          ("Find {name}'s email address and send them a message with the subject '{subject}' saying: {body}",
           "Look up {name} in my contacts and email them. Subject: {subject}. Body: {body}",
           "Can you email {name}? Subject \"{subject}\", message: {body} You'll have to look up the address."),
          ("I looked up {name} ({email}) and sent '{subject}'.", "Done: '{subject}' was sent to {name} at {email}."),
          lambda a1, o1, a2, o2: {"name": a1["name"], "email": o1["email"], "subject": a2["subject"]}),
    Chain("contact_then_sms", "find_contact", "send_sms", _sms,
          lambda a1, o1, s, r: {"phone_number": o1["phone"], "message": s["message"]},
          ("Look up {name}'s number and text them: {message}", "Send {name} a text saying '{message}'.",
           "Text {name}: \"{message}\""),
          ("I texted {name} at {phone}.", "Message delivered to {name} ({phone})."),
          lambda a1, o1, a2, o2: {"name": a1["name"], "phone": o1["phone"]}),
    Chain("search_then_book_flight", "search_flights", "book_flight", _flight, _book_link,
          ("Find the cheapest flight from {origin} to {destination} on {date} and book it for {first_name} "
           "{last_name} ({email}).",
           "Book me the cheapest {origin} to {destination} flight on {date}. Passenger: {first_name} {last_name}, "
           "{email}."),
          ("The cheapest flight was {flight_id} ({airline}, ${price}). It's booked: confirmation {code}, seat {seat}.",
           "Booked {flight_id} for {passenger}; confirmation code {code}."),
          lambda a1, o1, a2, o2: {"flight_id": a2["flight_id"], "airline": o1["flights"][0]["airline"],
                                  "price": money(o1["flights"][0]["price"]), "code": o2["confirmation_code"],
                                  "seat": o2["seat"], "passenger": o2["passenger"]}),
    Chain("geocode_then_nearby", "geocode_address", "find_nearby_places", _geocode,
          lambda a1, o1, s, r: {"location": {"latitude": o1["latitude"], "longitude": o1["longitude"]},
                                "place_type": s["place_type"]},
          ("Find {places} near {address}.", "Are there any {places} close to {address}?",
           "I'm staying at {address}. What {places} are nearby?"),
          ("Near {address}, the closest is {top} ({dist} m away).", "{top} is {dist} m from {address}."),
          lambda a1, o1, a2, o2: {"address": a1["address"], "top": o2["results"][0]["name"],
                                  "dist": str(o2["results"][0]["distance_m"])}),
    Chain("next_event_then_forecast", "get_next_event", "get_weather_forecast", lambda r: ({}, {}),
          lambda a1, o1, s, r: {"city": o1["location"], "days": 1},
          ("What's the weather going to be like where my next meeting is?",
           "Check my next appointment and tell me the forecast for that place.",
           "Will I need an umbrella for my next event?"),
          ("Your next event, '{title}', is in {city}: expect {condition}, {low}-{high}°C.",
           "{title} is in {city}; the forecast says {condition} with highs of {high}°C."),
          lambda a1, o1, a2, o2: {"title": o1["title"], "city": o1["location"], **{
              k: str(o2["days"][0][k]) for k in ("condition", "low", "high")}}),
    Chain("stock_then_convert", "get_stock_price", "convert_currency", _stock,
          lambda a1, o1, s, r: {"amount": o1["price"], "from_currency": "USD", "to_currency": s["to_currency"]},
          ("What's {symbol} trading at in {to_currency}?", "Get the {symbol} share price and convert it to {to_currency}.",
           "How much is one {symbol} share in {to_currency}?"),
          ("{symbol} is at ${usd}, which is about {converted} {to_currency}.", "One {symbol} share ≈ {converted} {to_currency}."),
          lambda a1, o1, a2, o2: {"symbol": a1["symbol"], "usd": money(o1["price"]), "to_currency": a2["to_currency"],
                                  "converted": money(o2["converted"])}),
    Chain("recipe_then_shopping_list", "search_recipes", "add_to_shopping_list", _recipe, _recipe_link,
          ("Find a recipe with {ingredients} and add whatever else I need to my shopping list.",
           "I want to cook something with {ingredients}. Pick a recipe and put the missing ingredients on my list."),
          ("Let's make {title}. I added {items} to your shopping list.", "Recipe: {title}. Shopping list updated with {items}."),
          lambda a1, o1, a2, o2: {"title": o1["recipes"][0]["title"],
                                  "items": ", ".join(i["name"] for i in a2["items"])}),
    Chain("cheapest_product_then_cart", "search_products", "add_to_cart", _product, _cart_link,
          ("Find the cheapest {query} and add {quantity} to my cart.", "Put the cheapest {query} you can find in my cart "
           "(quantity {quantity})."),
          ("The cheapest {query} is {name} at ${price}; added {qty} to your cart.", "Added {name} ({pid}) to your cart."),
          lambda a1, o1, a2, o2: {"query": a1["query"], "name": o1["results"][0]["name"], "pid": a2["product_id"],
                                  "price": money(o1["results"][0]["price"]), "qty": str(a2.get("quantity", 1))},
          implied=("sort_by",)),
    Chain("list_then_compress", "list_files", "compress_files", _files, _zip_link,
          ("Zip all the {extension} files in {directory} into an archive called {archive_name}.",
           "Put every .{extension} file from {directory} into {archive_name}."),
          ("Archived {n} file(s) from {directory} into {archive}.", "{archive} now holds the {n} {extension} file(s)."),
          lambda a1, o1, a2, o2: {"n": str(o2["files"]), "directory": a1["directory"], "archive": o2["archive"],
                                  "extension": a1["extension"]}),
    Chain("detect_then_translate", "detect_language", "translate_text", _detect,
          lambda a1, o1, s, r: {"text": a1["text"], "target_language": "English", "source_language": o1["language"]},
          ("What language is '{text}' in, and what does it mean in English?",
           "Figure out which language \"{text}\" is and translate it to English."),
          ("It's {language}; in English: \"{translation}\".", "That's {language} for \"{translation}\"."),
          lambda a1, o1, a2, o2: {"language": o1["language"], "translation": o2["translation"]}),
    Chain("doctor_then_calendar", "find_doctor", "create_calendar_event", _doctor, _doctor_link,
          ("Find a {spec_text} in {city} and put an appointment with the first one on my calendar on their "
           "next available day at {time}.",
           "Book time with a {spec_text} in {city}: add it to my calendar for their first free day, {time}."),
          ("I found {doctor} and added the appointment on {date} at {time}.",
           "Calendar updated: {doctor}, {date} at {time}."),
          lambda a1, o1, a2, o2: {"doctor": a2["title"], "date": a2["date"], "time": a2["start_time"]}),
)
