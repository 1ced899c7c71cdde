"""Synthetic functions: health and fitness, and files on disk."""

from __future__ import annotations

from ..pools import (
    CITIES,
    DIRECTORIES,
    FILE_QUERIES,
    FILE_STEMS,
    INSURERS,
    LAST_NAMES,
    MEDICATIONS,
    date,
    pick,
)
from ..spec import FunctionSpec, array, boolean, integer, maybe, number, params, string

ACTIVITIES = ["running", "cycling", "swimming", "walking", "yoga", "weightlifting", "rowing", "hiking"]
KCAL_PER_MIN = {"running": 11, "cycling": 8, "swimming": 9, "walking": 4, "yoga": 3, "weightlifting": 6,
                "rowing": 8, "hiking": 7}
SPECIALTIES = ["general_practice", "dermatology", "cardiology", "pediatrics", "dentistry", "orthopedics",
               "ophthalmology", "psychiatry"]
DRUG_INFO = {"ibuprofen": ("NSAID", "pain, fever and inflammation", "stomach upset, heartburn"),
             "paracetamol": ("analgesic", "pain and fever", "rare at normal doses; liver damage in overdose"),
             "amoxicillin": ("penicillin antibiotic", "bacterial infections", "nausea, diarrhoea, rash"),
             "loratadine": ("antihistamine", "hay fever and allergies", "headache, drowsiness (rare)"),
             "omeprazole": ("proton pump inhibitor", "acid reflux and ulcers", "headache, abdominal pain"),
             "metformin": ("biguanide", "type 2 diabetes", "nausea, diarrhoea"),
             "cetirizine": ("antihistamine", "allergies and hives", "drowsiness, dry mouth"),
             "aspirin": ("salicylate NSAID", "pain, fever, and preventing blood clots", "stomach irritation, bleeding")}
FILE_TYPES = ["pdf", "docx", "xlsx", "jpg", "png", "txt", "csv", "pptx"]


def _bmi_run(args, r):
    if args["height_cm"] <= 0 or args["weight_kg"] <= 0:
        return {"error": "weight and height must be positive"}
    bmi = round(args["weight_kg"] / (args["height_cm"] / 100) ** 2, 1)
    category = ("underweight" if bmi < 18.5 else "normal weight" if bmi < 25 else "overweight" if bmi < 30
                else "obese")
    return {"bmi": bmi, "category": category}


BMI = FunctionSpec(
    name="calculate_bmi", domain="health", task="calculate BMI",
    description="Calculate body-mass index from weight and height.",
    parameters=params({"weight_kg": number("Weight in kilograms.", minimum=20, maximum=300),
                       "height_cm": number("Height in centimetres.", minimum=100, maximum=250)}),
    sample=lambda r: {"weight_kg": r.choice((52, 58.5, 64, 70, 72.5, 81, 88, 95, 104)),
                      "height_cm": r.choice((155, 160, 165, 170, 172, 178, 183, 190))},
    run=_bmi_run,
    requests=("What's my BMI? I weigh {weight_kg} kg and I'm {height_cm} cm tall.",
              "Calculate the BMI for {weight_kg} kg at {height_cm} cm.", "I'm {height_cm} cm and {weight_kg} kg; what's my BMI?"),
    answers=("Your BMI is {bmi}, which is in the {category} range.", "BMI {bmi} ({category})."),
)


def _workout_sample(r):
    args = {"activity": r.choice(ACTIVITIES), "duration_minutes": r.choice((15, 20, 30, 45, 60, 75, 90))}
    if maybe(r, 0.5):
        args["date"] = date(r)
    if maybe(r, 0.25):
        args["intensity"] = r.choice(["light", "moderate", "vigorous"])
    return args


WORKOUT = FunctionSpec(
    name="log_workout", domain="health", task="log workouts",
    description="Record a workout in the user's fitness log.",
    parameters=params({"activity": string("Type of exercise.", enum=ACTIVITIES),
                       "duration_minutes": integer("How long.", minimum=1, maximum=600)},
                      {"date": string("Day of the workout, YYYY-MM-DD. Default: today."),
                       "intensity": string("Effort level.", enum=["light", "moderate", "vigorous"], default="moderate")}),
    sample=_workout_sample,
    run=lambda a, r: {"logged": True, "activity": a["activity"], "duration_minutes": a["duration_minutes"],
                      "estimated_calories": round(KCAL_PER_MIN.get(a["activity"], 6) * a["duration_minutes"]
                                                  * {"light": 0.8, "vigorous": 1.25}.get(a.get("intensity", ""), 1)),
                      "weekly_minutes": a["duration_minutes"] + r.randint(0, 240)},
    requests=("Log a {duration_minutes} minute {activity} session.", "I did {duration_minutes} minutes of {activity}, record it.",
              "Add {activity} for {duration_minutes} minutes to my fitness log.", "track my workout: {activity}, {duration_minutes} min"),
    extras={"date": ("That was on {date}.", "Date: {date}."), "intensity": ("It was {intensity}.", "Intensity: {intensity}.")},
    answers=("Logged {duration_minutes} min of {activity}, about {estimated_calories} kcal. {weekly_minutes} min this week.",
             "Workout saved: {activity}, {duration_minutes} minutes (~{estimated_calories} kcal)."),
)


def _doctor_sample(r):
    args = {"specialty": r.choice(SPECIALTIES), "city": pick(r, CITIES)}
    if maybe(r, 0.3):
        args["insurance"] = r.choice(INSURERS)
    if maybe(r, 0.25):
        args["telehealth"] = True
    return args


def _doctor_run(args, r):
    doctors = [{"name": f"Dr. {r.choice(LAST_NAMES)}", "specialty": args["specialty"], "city": args["city"],
                "next_available": date(r, start_offset=100, span=40), "rating": round(r.uniform(3.8, 5), 1),
                "telehealth": args.get("telehealth", r.random() < 0.5)} for _ in range(r.randint(1, 3))]
    return {"doctors": doctors, "insurance_checked": args.get("insurance")}


FIND_DOCTOR = FunctionSpec(
    name="find_doctor", domain="health", task="find doctors",
    description="Find doctors of a given specialty in a city.",
    parameters=params({"specialty": string("Medical specialty.", enum=SPECIALTIES), "city": string("City.")},
                      {"insurance": string("Insurance provider the doctor must accept."),
                       "telehealth": boolean("Only doctors offering video visits.", default=False)}),
    sample=_doctor_sample, run=_doctor_run,
    requests=("Find a {spec_text} in {city}.", "I need a {spec_text} in {city}.", "Who's a good {spec_text} in {city}?"),
    text_slots=lambda a: {"spec_text": {"general_practice": "general practitioner", "dentistry": "dentist",
                                        "pediatrics": "pediatrician", "psychiatry": "psychiatrist"}.get(
        a["specialty"], f"{a['specialty']} specialist")},
    extras={"insurance": ("They must take {insurance}.", "I'm insured with {insurance}."),
            "telehealth": ("Video appointments only.", "Telehealth would be best.")},
    answers=("{top} in {city} (rated {rating}) has an opening on {when}.", "I found {n}; {top} is available from {when}."),
    answer_slots=lambda a, o: {"top": o["doctors"][0]["name"], "rating": str(o["doctors"][0]["rating"]),
                               "when": o["doctors"][0]["next_available"], "n": f"{len(o['doctors'])} doctor(s)"},
)


def _drug_sample(r):
    args = {"drug_name": r.choice(MEDICATIONS)}
    if maybe(r, 0.4):
        args["info_type"] = r.choice(["uses", "side_effects", "interactions", "all"])
    return args


def _drug_run(args, r):
    cls, uses, side = DRUG_INFO.get(args["drug_name"].lower(), ("unknown", "unknown", "unknown"))
    return {"drug_name": args["drug_name"], "drug_class": cls, "uses": uses, "side_effects": side,
            "note": "General information only; follow your doctor's or pharmacist's advice."}


MEDICATION = FunctionSpec(
    name="get_medication_info", domain="health", task="look up medication information",
    description="Get general reference information about a medication.",
    parameters=params({"drug_name": string("Generic drug name.")},
                      {"info_type": string("What to return.", enum=["uses", "side_effects", "interactions", "all"],
                                           default="all")}),
    sample=_drug_sample, run=_drug_run,
    requests=("What is {drug_name} used for?", "Tell me about {drug_name}.", "What are the side effects of {drug_name}?",
              "info on {drug_name} please"),
    extras={"info_type": ("I mostly care about {info_text}.",)},
    text_slots=lambda a: {"info_text": a.get("info_type", "all").replace("_", " ")},
    vary="drug_name", pair_requests=("Tell me about {x1} and {x2}.",),
    answers=("{drug_name} is a {drug_class} used for {uses}. Common side effects: {side_effects}. {note}",
             "{drug_name} ({drug_class}): used for {uses}; side effects may include {side_effects}."),
)


def _list_files_sample(r):
    args = {"directory": r.choice(DIRECTORIES)}
    if maybe(r, 0.4):
        args["extension"] = r.choice(FILE_TYPES)
    if maybe(r, 0.2):
        args["recursive"] = True
    return args


def list_files_run(args, r):
    """Fake directory listing (also the first step of the list-then-compress chain)."""
    names = sorted({f"{r.choice(FILE_STEMS)}_{r.randint(1, 40)}.{args.get('extension') or r.choice(FILE_TYPES)}"
                    for _ in range(r.randint(2, 5))})
    base = args["directory"].rstrip("/")
    return {"directory": args["directory"], "files": [{"path": f"{base}/{name}", "size_kb": r.randint(4, 9000)}
                                                      for name in names]}


LIST_FILES = FunctionSpec(
    name="list_files", domain="files", task="list files in folders",
    description="List the files in a directory.",
    parameters=params({"directory": string("Absolute directory path.")},
                      {"extension": string("Only files with this extension (no dot), e.g. 'pdf'."),
                       "recursive": boolean("Include subdirectories.", default=False)}),
    sample=_list_files_sample, run=list_files_run,
    requests=("What files are in {directory}?", "List the contents of {directory}.", "Show me what's in {directory}.",
              "ls {directory}"),
    extras={"extension": ("Only the .{extension} files.", "Just {extension} files."),
            "recursive": ("Include subfolders.", "Search recursively.")},
    vary="directory", pair_requests=("List the files in {x1} and in {x2}.",),
    answers=("{directory} contains {n} file(s): {names}.", "Found {n} file(s) in {directory}: {names}."),
    answer_slots=lambda a, o: {"n": str(len(o["files"])), "names": ", ".join(f["path"].rsplit("/", 1)[-1]
                                                                             for f in o["files"])},
)


def _search_files_sample(r):
    args = {"query": r.choice(FILE_QUERIES)}
    if maybe(r, 0.35):
        args["file_types"] = r.sample(FILE_TYPES, r.randint(1, 2))
    if maybe(r, 0.25):
        args["modified_after"] = date(r)
    return args


def _search_files_run(args, r):
    kinds = args.get("file_types") or FILE_TYPES[:3]
    slug = args["query"].replace(" ", "_")
    hits = [{"path": f"{r.choice(DIRECTORIES)}/{slug}_{i}.{r.choice(kinds)}", "modified": date(r, start_offset=200)}
            for i in range(1, r.randint(1, 3) + 1)]
    return {"query": args["query"], "matches": hits}


SEARCH_FILES = FunctionSpec(
    name="search_files", domain="files", task="search your files",
    description="Search the user's files by name and content.",
    parameters=params({"query": string("Words to search for.")},
                      {"file_types": array(string("Extension.", enum=FILE_TYPES), "Restrict to these types.", max_items=8),
                       "modified_after": string("Only files changed after this date, YYYY-MM-DD.")}),
    sample=_search_files_sample, run=_search_files_run,
    requests=("Find my {query} files.", "Search my computer for '{query}'.", "Where did I save the {query}?",
              "look for files about {query}"),
    extras={"file_types": ("Only {file_types} files.",), "modified_after": ("Changed after {modified_after}.",)},
    vary="query", pair_requests=("Search my files for {x1} and for {x2}.",),
    answers=("I found {n} match(es) for '{query}': {paths}.", "Matches for {query}: {paths}."),
    answer_slots=lambda a, o: {"n": str(len(o["matches"])), "paths": ", ".join(m["path"] for m in o["matches"])},
)


def compress_args(r, paths: list[str]) -> dict:
    """Arguments for :data:`COMPRESS` over ``paths``."""
    args = {"paths": paths, "archive_name": f"{r.choice(['backup', 'archive', 'files', 'export'])}_{r.randint(1, 99)}"}
    if maybe(r, 0.35):
        args["format"] = r.choice(["zip", "tar.gz", "7z"])
    return args


def _compress_sample(r):
    directory = r.choice(DIRECTORIES)
    stems = r.sample(FILE_STEMS, r.randint(1, 3))
    return compress_args(r, [f"{directory}/{stem}.{r.choice(FILE_TYPES)}" for stem in stems])


COMPRESS = FunctionSpec(
    name="compress_files", domain="files", task="compress files into archives",
    description="Compress files into an archive.",
    parameters=params({"paths": array(string("File path."), "Files to include.", max_items=500),
                       "archive_name": string("Archive file name without extension.")},
                      {"format": string("Archive format.", enum=["zip", "tar.gz", "7z"], default="zip")}),
    sample=_compress_sample,
    run=lambda a, r: {"archive": f"{a['archive_name']}.{a.get('format', 'zip')}", "files": len(a["paths"]),
                      "size_kb": r.randint(50, 20000)},
    requests=("Compress {paths} into {archive_name}.", "Bundle {paths} into an archive named {archive_name}.",
              "Make an archive called {archive_name} with {paths}."),
    extras={"format": ("Use {format} format.", "As a {format}.")},
    answers=("Created {archive} with {files} file(s) ({size_kb} KB).", "Your archive {archive} is ready."),
)

FUNCTIONS = [BMI, WORKOUT, FIND_DOCTOR, MEDICATION, LIST_FILES, SEARCH_FILES, COMPRESS]
