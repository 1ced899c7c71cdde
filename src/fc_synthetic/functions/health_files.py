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
from ..spec import Behaviour, maybe

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


def _workout_sample(r):
    args = {"activity": r.choice(ACTIVITIES), "duration_minutes": r.choice((15, 20, 30, 45, 60, 75, 90))}
    if maybe(r, 0.5):
        args["date"] = date(r)
    if maybe(r, 0.25):
        args["intensity"] = r.choice(["light", "moderate", "vigorous"])
    return args


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


def _drug_sample(r):
    args = {"drug_name": r.choice(MEDICATIONS)}
    if maybe(r, 0.4):
        args["info_type"] = r.choice(["uses", "side_effects", "interactions", "all"])
    return args


def _drug_run(args, r):
    cls, uses, side = DRUG_INFO.get(args["drug_name"].lower(), ("unknown", "unknown", "unknown"))
    return {"drug_name": args["drug_name"], "drug_class": cls, "uses": uses, "side_effects": side,
            "note": "General information only; follow your doctor's or pharmacist's advice."}


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


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/health_files.yaml.
BEHAVIOUR = {
    "calculate_bmi": Behaviour(sample=lambda r: {"weight_kg": r.choice((52, 58.5, 64, 70, 72.5, 81, 88, 95, 104)),
                      "height_cm": r.choice((155, 160, 165, 170, 172, 178, 183, 190))}, run=_bmi_run),
    "log_workout": Behaviour(sample=_workout_sample, run=lambda a, r: {"logged": True, "activity": a["activity"], "duration_minutes": a["duration_minutes"],
                      "estimated_calories": round(KCAL_PER_MIN.get(a["activity"], 6) * a["duration_minutes"]
                                                  * {"light": 0.8, "vigorous": 1.25}.get(a.get("intensity", ""), 1)),
                      "weekly_minutes": a["duration_minutes"] + r.randint(0, 240)}),
    "find_doctor": Behaviour(sample=_doctor_sample, run=_doctor_run, text_slots=lambda a: {"spec_text": {"general_practice": "general practitioner", "dentistry": "dentist",
                                        "pediatrics": "pediatrician", "psychiatry": "psychiatrist"}.get(
        a["specialty"], f"{a['specialty']} specialist")}, answer_slots=lambda a, o: {"top": o["doctors"][0]["name"], "rating": str(o["doctors"][0]["rating"]),
                               "when": o["doctors"][0]["next_available"], "n": f"{len(o['doctors'])} doctor(s)"}),
    "get_medication_info": Behaviour(sample=_drug_sample, run=_drug_run, text_slots=lambda a: {"info_text": a.get("info_type", "all").replace("_", " ")}),
    "list_files": Behaviour(sample=_list_files_sample, run=list_files_run, answer_slots=lambda a, o: {"n": str(len(o["files"])), "names": ", ".join(f["path"].rsplit("/", 1)[-1]
                                                                             for f in o["files"])}),
    "search_files": Behaviour(sample=_search_files_sample, run=_search_files_run, answer_slots=lambda a, o: {"n": str(len(o["matches"])), "paths": ", ".join(m["path"] for m in o["matches"])}),
    "compress_files": Behaviour(sample=_compress_sample, run=lambda a, r: {"archive": f"{a['archive_name']}.{a.get('format', 'zip')}", "files": len(a["paths"]),
                      "size_kb": r.randint(50, 20000)}),
}
