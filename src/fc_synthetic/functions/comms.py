"""Synthetic functions: e-mail, contacts, messaging, translation and dictionary."""

from __future__ import annotations

from ..pools import (
    EMAIL_BODIES,
    EMAIL_SUBJECTS,
    FOREIGN_PHRASES,
    LANGUAGES,
    SEARCH_QUERIES,
    WORDS,
    code,
    date,
    email,
    email_of,
    person,
    phone,
    pick,
)
from ..spec import Behaviour, maybe

SMS_TEXTS = ["Running 10 minutes late", "Can you pick up milk on the way home?", "Call me when you land",
             "Dinner at 7 tonight?", "The package arrived", "Happy birthday!", "Meeting moved to Thursday"]
TARGETS = ["English", *LANGUAGES]
TRANSLATIONS = {  # English phrase -> {language: translation}
    "Where is the train station?": ("¿Dónde está la estación de tren?", "Où est la gare ?", "Wo ist der Bahnhof?",
                                    "Dov'è la stazione dei treni?"),
    "I would like a cup of coffee, please.": ("Quisiera una taza de café, por favor.",
                                              "Je voudrais une tasse de café, s'il vous plaît.",
                                              "Ich hätte gern eine Tasse Kaffee, bitte.",
                                              "Vorrei una tazza di caffè, per favore."),
    "How much does this cost?": ("¿Cuánto cuesta esto?", "Combien ça coûte ?", "Wie viel kostet das?",
                                 "Quanto costa questo?"),
    "Thank you very much for your help.": ("Muchas gracias por tu ayuda.", "Merci beaucoup pour votre aide.",
                                           "Vielen Dank für Ihre Hilfe.", "Grazie mille per il tuo aiuto."),
    "The meeting starts at noon.": ("La reunión empieza al mediodía.", "La réunion commence à midi.",
                                    "Die Besprechung beginnt um zwölf Uhr.", "La riunione inizia a mezzogiorno."),
    "Can you recommend a good restaurant?": ("¿Puedes recomendarme un buen restaurante?",
                                             "Pouvez-vous recommander un bon restaurant ?",
                                             "Können Sie ein gutes Restaurant empfehlen?",
                                             "Puoi consigliare un buon ristorante?"),
    "I am allergic to peanuts.": ("Soy alérgico a los cacahuetes.", "Je suis allergique aux arachides.",
                                  "Ich bin allergisch gegen Erdnüsse.", "Sono allergico alle arachidi."),
    "Happy birthday!": ("¡Feliz cumpleaños!", "Joyeux anniversaire !", "Alles Gute zum Geburtstag!",
                        "Buon compleanno!"),
    "See you tomorrow morning.": ("Nos vemos mañana por la mañana.", "À demain matin.", "Bis morgen früh.",
                                  "Ci vediamo domani mattina."),
    "The weather is lovely today.": ("Hoy hace un tiempo precioso.", "Il fait très beau aujourd'hui.",
                                     "Das Wetter ist heute herrlich.", "Oggi il tempo è bellissimo."),
}
TRANSLATED_TO = ["Spanish", "French", "German", "Italian"]
DEFINITIONS = {
    "serendipity": ("noun", "the occurrence of events by chance in a happy or beneficial way"),
    "ephemeral": ("adjective", "lasting for a very short time"),
    "ubiquitous": ("adjective", "present, appearing, or found everywhere"),
    "resilient": ("adjective", "able to recover quickly from difficult conditions"),
    "meticulous": ("adjective", "showing great attention to detail; very careful and precise"),
    "candid": ("adjective", "truthful and straightforward; frank"),
    "pragmatic": ("adjective", "dealing with things sensibly and realistically"),
    "eloquent": ("adjective", "fluent or persuasive in speaking or writing"),
    "benevolent": ("adjective", "well meaning and kindly"),
    "ambiguous": ("adjective", "open to more than one interpretation"),
    "tenacious": ("adjective", "persistent; not giving up easily"),
    "whimsical": ("adjective", "playfully quaint or fanciful"),
}


def _email_sample(r):
    args = {"to": sorted({email(r) for _ in range(r.choice((1, 1, 1, 2)))}), "subject": pick(r, EMAIL_SUBJECTS),
            "body": pick(r, EMAIL_BODIES)}
    if maybe(r, 0.2):
        args["cc"] = [email(r)]
    if maybe(r, 0.2):
        args["priority"] = r.choice(["low", "normal", "high"])
    return args


def _search_sample(r):
    args = {"query": pick(r, SEARCH_QUERIES)}
    if maybe(r, 0.3):
        args["folder"] = r.choice(["inbox", "sent", "archive", "all"])
    if maybe(r, 0.25):
        args["unread_only"] = True
    if maybe(r, 0.2):
        args["max_results"] = r.choice((3, 5, 10))
    return args


def _search_run(args, r):
    hits = [{"from": email(r), "subject": f"{args['query'].capitalize()} {r.choice(['update', 'details', '#' + str(r.randint(2, 99))])}",
             "date": date(r), "unread": args.get("unread_only", r.random() < 0.3)}
            for _ in range(r.randint(0, min(3, args.get("max_results", 3))))]
    return {"query": args["query"], "folder": args.get("folder", "inbox"), "results": hits}


def _contact_run(args, r):
    first, _, last = args["name"].partition(" ")
    return {"name": args["name"], "email": email_of(first, last or "contact"), "phone": phone(r),
            "company": r.choice(["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries"])}


def _translate_sample(r):
    if maybe(r, 0.25):
        text = pick(r, FOREIGN_PHRASES)
        args = {"text": text, "target_language": "English"}
        if maybe(r, 0.4):
            args["source_language"] = FOREIGN_PHRASES[text][0]
    else:
        args = {"text": pick(r, TRANSLATIONS), "target_language": r.choice(TRANSLATED_TO)}
        if maybe(r, 0.3):
            args["source_language"] = "English"
    if maybe(r, 0.15):
        args["formality"] = r.choice(["formal", "informal"])
    return args


def _translate_run(args, r):
    text, target = args["text"], args["target_language"]
    if text in TRANSLATIONS and target in TRANSLATED_TO:
        translated = TRANSLATIONS[text][TRANSLATED_TO.index(target)]
    elif text in FOREIGN_PHRASES and target == "English":
        translated = FOREIGN_PHRASES[text][1]
    else:
        translated = text
    source = args.get("source_language") or (FOREIGN_PHRASES[text][0] if text in FOREIGN_PHRASES else "English")
    return {"translation": translated, "source_language": source, "target_language": target}


def _define_sample(r):
    args = {"word": pick(r, WORDS)}
    if maybe(r, 0.3):
        args["include_examples"] = True
    return args


def _define_run(args, r):
    pos, meaning = DEFINITIONS.get(args["word"], ("noun", "no definition found"))
    out = {"word": args["word"], "part_of_speech": pos, "definition": meaning}
    if args.get("include_examples"):
        out["examples"] = [f"Her {args['word']} remark surprised everyone." if pos == "adjective"
                           else f"It was pure {args['word']} that we met."]
    return out


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/comms.yaml.
BEHAVIOUR = {
    "send_email": Behaviour(sample=_email_sample, run=lambda a, r: {"message_id": code(r, "MSG", 8), "status": "sent",
                      "recipients": len(a["to"]) + len(a.get("cc", []))}),
    "search_emails": Behaviour(sample=_search_sample, run=_search_run, answer_slots=lambda a, o: {"n": str(len(o["results"])), "listing": (": " + "; ".join(
        f"'{m['subject']}' from {m['from']} ({m['date']})" for m in o["results"]) + ".") if o["results"] else "."}),
    "find_contact": Behaviour(sample=lambda r: {"name": " ".join(person(r))}, run=_contact_run),
    "send_sms": Behaviour(sample=lambda r: {"phone_number": phone(r), "message": pick(r, SMS_TEXTS)}, run=lambda a, r: {"status": "delivered", "segments": 1, "sms_id": code(r, "SMS", 7)}),
    "translate_text": Behaviour(sample=_translate_sample, run=_translate_run),
    "detect_language": Behaviour(sample=lambda r: {"text": pick(r, FOREIGN_PHRASES)}, run=lambda a, r: {"language": FOREIGN_PHRASES.get(a["text"], ("English", ""))[0],
                      "confidence": round(r.uniform(0.9, 0.999), 3)}),
    "define_word": Behaviour(sample=_define_sample, run=_define_run, answer_slots=lambda a, o: {"article": "an" if o["part_of_speech"][:1] in "aeiou" else "a"}),
}
