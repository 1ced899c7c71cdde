"""Natural-language variety: system prompts, politeness, joins, refusals and chit-chat.

Everything that is not specific to one function lives here, so the generator can vary the
surface form of a request (``"Hey, what's the weather in Rome?"`` vs ``"weather in rome
pls"``) independently of its content.
"""

from __future__ import annotations

import random
import re

from .spec import Args, FunctionSpec, template_fields

SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a helpful assistant with access to tools. Use them when they help answer the user.",
    "You are a friendly personal assistant. Call a function when the user's request needs one; otherwise answer directly.",
    "You are an AI assistant. Only call the functions you are given, with arguments that match their schemas.",
    "You are a concise assistant. Keep answers short.",
    "You help users get things done. If no available tool fits a request, say so plainly.",
    "You are a smart home and productivity assistant.",
    "Answer accurately. Use the provided tools for real-time data and actions.",
)

_GREETING_PREFIXES = ("Hi! ", "Hey, ", "Hello. ", "Hi there, ", "Good morning! ", "Hey there! ")
_FILLER_PREFIXES = ("Quick question: ", "Please help: ", "OK, ", "So, ", "Could you help? ", "Right, ")
_SUFFIXES = ("", "", "", "", "", " Thanks!", " Thank you.", " Thanks in advance.", " Cheers.", " Please.", " ASAP please.")

PARALLEL_JOINS = ("{a} {b}", "{a} Also, {b}", "{a} And {b}", "Two things. {a} {b}", "{a} Then {b}",
                  "{a}\n{b}", "I have a couple of requests: {a} Also {b}")
# One call repeated with one value changed, in the same message: "{a}" is the first request.
REPEATS = ("{a} Then repeat with {x} instead of {x1}.", "{a} Do the same again with {x} in place of {x1}.",
           "{a} And once more, but with {x} instead of {x1}.", "{a} Then the same for {x} instead of {x1}, please.",
           "{a} Repeat that with {x} rather than {x1}.")
FOLLOWUPS = ("What about {x}?", "And {x}?", "How about {x}?", "Same for {x}, please.", "Now do {x}.", "And for {x}?")

REFUSALS = (
    "I'm sorry, but I can't {task} with the tools I have here. I can {caps}.",
    "Unfortunately none of my available tools can {task}. I can help you {caps} instead.",
    "I don't have a tool to {task}, so I can't do that for you. What I can do: {caps}.",
    "That's outside what I can do right now: there is no tool to {task}. I'm able to {caps}, though.",
    "Sorry, I'm not able to {task}. The tools available to me only let me {caps}.",
)

# Requests no catalogue function can serve: (request, what it would take, domains a tool must not come from).
OUTSIDE_REQUESTS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("Order me a large pepperoni pizza from Luigi's.", "order food", frozenset({"shopping"})),
    ("Call my mom.", "make phone calls", frozenset()),
    ("Post 'Happy Friday everyone!' on my Twitter account.", "post on social media", frozenset()),
    ("Transfer $200 from my checking account to savings.", "move money between bank accounts", frozenset({"finance"})),
    ("Print my boarding pass.", "print documents", frozenset({"files"})),
    ("Pay my electricity bill.", "pay bills", frozenset({"finance"})),
    ("Start the robot vacuum in the kitchen.", "control the vacuum cleaner", frozenset({"smart_home"})),
    ("Take a photo with the front camera.", "use the camera", frozenset()),
    ("Order an Uber Eats delivery of sushi.", "order food deliveries", frozenset({"shopping", "maps"})),
    ("Renew my driver's license online.", "handle government services", frozenset()),
    ("Turn on the TV and put on channel 5.", "control the TV", frozenset({"smart_home", "music"})),
    ("Write a poem and publish it on my blog.", "publish to a blog", frozenset({"files"})),
    ("Check my bank account balance.", "access bank accounts", frozenset({"finance"})),
    ("Start my car's engine remotely.", "control your car", frozenset({"smart_home"})),
    ("Water the garden with the sprinklers.", "control the sprinklers", frozenset({"smart_home"})),
    ("Cancel my gym membership.", "manage memberships", frozenset({"health"})),
)

GREETINGS = (
    ("Hi!", "Hello! How can I help you today?"),
    ("Hello there", "Hi! What can I do for you?"),
    ("Good morning", "Good morning! What can I help you with?"),
    ("Hey, how are you?", "I'm doing well, thanks for asking! How can I help?"),
    ("hi", "Hi! What do you need?"),
)
THANKS = (
    ("Thanks!", "You're welcome!"), ("Thank you, that's all.", "You're welcome! Have a great day."),
    ("Great, thanks a lot.", "Happy to help!"), ("perfect, thank you", "Anytime!"),
    ("Cool.", "Let me know if you need anything else."), ("Thanks, bye!", "Bye! Have a good one."),
)
CAPABILITY_QUESTIONS = (
    ("What can you do?", "I can {caps}. I can also answer general questions."),
    ("Who are you?", "I'm your assistant. With the tools I have, I can {caps}."),
    ("What tools do you have?", "Right now I can {caps}."),
)
KNOWLEDGE = (
    ("What is the capital of Australia?", "The capital of Australia is Canberra."),
    ("Who wrote Pride and Prejudice?", "Pride and Prejudice was written by Jane Austen and published in 1813."),
    ("How many continents are there?", "There are seven continents: Africa, Antarctica, Asia, Australia (Oceania), "
                                       "Europe, North America and South America."),
    ("What's the largest planet in our solar system?", "Jupiter is the largest planet in our solar system."),
    ("What is photosynthesis?", "Photosynthesis is how plants, algae and some bacteria use sunlight, water and carbon "
                                "dioxide to make sugar, releasing oxygen as a by-product."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa, in the early 1500s."),
    ("How many legs does a spider have?", "Spiders have eight legs."),
    ("What does DNA stand for?", "DNA stands for deoxyribonucleic acid."),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong, on 20 July 1969, during the Apollo 11 mission."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au."),
    ("Which ocean is the largest?", "The Pacific Ocean is the largest and deepest ocean on Earth."),
    ("What is a haiku?", "A haiku is a short Japanese poem of three lines with five, seven and five syllables."),
    ("Why is the sky blue?", "Air molecules scatter short (blue) wavelengths of sunlight much more than long (red) "
                             "ones; this Rayleigh scattering makes the sky look blue."),
    ("Tell me a joke.", "Why don't scientists trust atoms? Because they make up everything!"),
    ("What's the speed of light?", "About 299,792 kilometres per second in a vacuum."),
    ("How many days are in a leap year?", "A leap year has 366 days."),
    ("Who developed the theory of relativity?", "Albert Einstein developed the theory of relativity."),
    ("What language is spoken in Brazil?", "Portuguese is the official language of Brazil."),
    ("What is the tallest mountain in the world?", "Mount Everest, at about 8,849 metres above sea level."),
    ("Any tips to sleep better?", "Keep a regular schedule, avoid screens and caffeine in the evening, and keep your "
                                  "bedroom cool, dark and quiet."),
    ("How can I learn a new language faster?", "Practise a little every day, listen to native speakers, and start "
                                               "speaking early, even with mistakes."),
    ("What is machine learning?", "Machine learning is a branch of AI in which computers learn patterns from data "
                                  "instead of following hand-written rules."),
    ("Can you recommend a classic novel?", "Try 'To Kill a Mockingbird' by Harper Lee, or '1984' by George Orwell."),
    ("What is the freezing point of water in celsius?", "Water freezes at 0 °C at standard atmospheric pressure."),
    ("Who invented the telephone?", "Alexander Graham Bell is credited with patenting the first practical telephone in 1876."),
    ("What's the difference between a virus and a bacterium?", "Bacteria are living single-celled organisms; viruses "
                                                               "are much smaller and can only reproduce inside a host's cells."),
)
# General lookup tools that could arguably answer a knowledge question: never offered with one.
KNOWLEDGE_UNFIT = frozenset({"define_word", "search_news", "get_news_headlines", "lookup_fact", "search_facts"})

# Functions that can stand in for each other (a calculator can work out a tip): a request for one is never
# used as an "irrelevant" request while another of its group is offered. The calculator stands in for each
# numeric function, but those do not stand in for one another: a BMI request offered only the tip calculator
# is a request to decline.
_CALCULATED = ("solve_quadratic", "compute_statistics", "convert_measurement", "convert_temperature", "calculate_tip",
               "calculate_loan_payment", "calculate_bmi", "scale_recipe", "convert_timezone", "convert_units",
               "date_difference", "add_to_date")
OVERLAPS: tuple[frozenset[str], ...] = (
    *(frozenset({calculator, name}) for calculator in ("evaluate_expression", "calculate") for name in _CALCULATED),
    frozenset({"evaluate_expression", "calculate"}),
    frozenset({"convert_measurement", "convert_temperature", "convert_units"}),
    frozenset({"add_to_date", "day_of_week"}),  # its output names the weekday
    frozenset({"lookup_fact", "search_facts"}),
    frozenset({"create_calendar_event", "set_reminder", "create_todo", "set_alarm", "start_timer",
               "add_to_shopping_list"}),
    frozenset({"find_doctor", "find_nearby_places", "geocode_address"}),
    frozenset({"get_directions", "book_ride"}),
    frozenset({"send_email", "send_sms", "find_contact"}),
    frozenset({"search_products", "add_to_cart", "add_to_shopping_list"}),
    # within one domain: either can answer the other's request ("weather in Paris today" <- a 1-day forecast)
    frozenset({"get_current_weather", "get_weather_forecast"}),
    frozenset({"get_news_headlines", "search_news"}),
    frozenset({"list_files", "search_files"}),
    frozenset({"list_calendar_events", "get_next_event"}),
)


def polish(rng: random.Random, text: str, *, starts_with_slot: bool = False, greet: bool = True) -> str:
    """Add an optional greeting (``greet``: only where the conversation starts), filler or thanks, and
    adjust the first letter (never when the text starts with a value, whose case must be kept)."""
    roll = rng.random()
    prefix = (rng.choice(_GREETING_PREFIXES) if greet and roll < 0.15 else
              rng.choice(_FILLER_PREFIXES) if roll < 0.28 else "")
    suffix = rng.choice(_SUFFIXES)
    if not starts_with_slot:
        if prefix.endswith(", "):
            text = lower_first(text)
        elif prefix or rng.random() < 0.75:
            text = text[:1].upper() + text[1:]
    if suffix and not text.rstrip().endswith((".", "?", "!")):
        text = text.rstrip() + "."
    return f"{prefix}{text}{suffix}"


def lower_first(text: str) -> str:
    """``"What is..."`` -> ``"what is..."`` (for a request joined after another)."""
    return text[0].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text


def join_requests(rng: random.Random, parts: list[str]) -> str:
    """Several independent requests in one user message."""
    text = parts[0]
    for part in parts[1:]:
        join = rng.choice(PARALLEL_JOINS)
        if not text.rstrip().endswith((".", "?", "!")):
            text = text.rstrip() + "."
        part = lower_first(part) if ("Also" in join or "And" in join or "Then" in join) else part
        text = join.format(a=text, b=part)
    return text


def conjoin_values(rng: random.Random, text: str, first: str, others: list[str]) -> str | None:
    """``text`` with its one mention of ``first`` replaced by all the values ("Paris and
    London", "both 3 and 7", "5, 8 and 13"): one request that asks for one call per value.
    ``None`` when ``first`` is not mentioned exactly once as a whole word."""
    mention = re.compile(rf"(?<!\w){re.escape(first)}(?!\w)")
    if not first or len(mention.findall(text)) != 1:
        return None
    values = [first, *others]
    if len(values) == 2:
        joined = rng.choice(("{0} and {1}", "{0} and {1}", "both {0} and {1}", "{0} as well as {1}")).format(*values)
    else:
        joined = f"{', '.join(values[:-1])} and {values[-1]}"
    return mention.sub(lambda _: joined, text, count=1)  # a function: no escapes read in ``joined``


def repeat_request(rng: random.Random, text: str, first: str, others: list[str]) -> str:
    """``text`` (a request using the value ``first``), then the same request again for each of
    ``others`` in place of it."""
    if not text.rstrip().endswith((".", "?", "!")):
        text = text.rstrip() + "."
    x = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return rng.choice(REPEATS).format(a=text, x=x, x1=first)


def capabilities(specs: list[FunctionSpec]) -> str:
    """``"check the weather, send e-mails or set alarms"``."""
    tasks = list(dict.fromkeys(spec.task for spec in specs))
    if len(tasks) == 1:
        return tasks[0]
    return ", ".join(tasks[:-1]) + " or " + tasks[-1]


def refusal(rng: random.Random, task: str, offered: list[FunctionSpec]) -> str:
    """The assistant's answer to a request none of the offered tools can serve."""
    return rng.choice(REFUSALS).format(task=task, caps=capabilities(offered))


def join_answers(rng: random.Random, answers: list[str]) -> str:
    """One final message covering several call results."""
    if len(answers) == 1:
        return answers[0]
    sep = rng.choice((" ", "\n", "\n\n"))
    if sep == "\n" and rng.random() < 0.5:
        return "\n".join(f"- {a}" for a in answers)
    return sep.join(answers)



def describe(rng: random.Random, spec: FunctionSpec, args: Args, templates: tuple[str, ...] | None = None,
             extra_slots: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> tuple[str, bool]:
    """Write a request for a call of ``spec`` with ``args``: fill a template whose slots are all known, then
    add a sentence for every optional argument the template does not mention.

    Returns the text and whether it starts with a slot (a value whose case must be kept)."""
    slots = spec.slots(args)
    if extra_slots:
        slots.update(extra_slots)
    candidates = [t for t in (templates or spec.requests) if template_fields(t) <= slots.keys()]
    if not candidates:
        raise ValueError(f"{spec.name}: no request template fits the arguments {sorted(args)}")
    template = rng.choice(candidates)
    text, used = template.format_map(slots), template_fields(template)
    required = set(spec.required)
    for param in spec.parameters["properties"]:
        if param in args and param not in required and param not in used and param not in skip:
            clause = rng.choice(spec.extras[param]).format_map(slots)
            if text.rstrip().endswith((".", "?", "!", ":")):
                text = f"{text.rstrip()} {clause}"
            else:
                text = f"{text.rstrip()}, {lower_first(clause)}"
    return text, template.startswith("{")
