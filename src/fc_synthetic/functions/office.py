"""Synthetic functions: calendar and productivity (to-dos, reminders, timers)."""

from __future__ import annotations

from ..pools import CITIES, MEETING_TITLES, TAGS, TODO_ITEMS, clock, code, date, email, pick
from ..spec import Behaviour, maybe

CALENDARS = ["work", "personal", "all"]
PLACES = ["Conference room B", "the main office", "Cafe Central", "Room 4.12", "the community center"]


def _end(start: str, minutes: int) -> str:
    """``_end("09:30", 45) == "10:15"``; an unreadable start gives ``"unknown"``."""
    try:
        hours, mins = (int(part) for part in start.split(":"))
    except ValueError:
        return "unknown"
    total = hours * 60 + mins + minutes
    return f"{total // 60 % 24:02d}:{total % 60:02d}"


def _event_sample(r):
    args = {"title": pick(r, MEETING_TITLES), "date": date(r), "start_time": clock(r)}
    if maybe(r, 0.5):
        args["duration_minutes"] = r.choice((15, 30, 45, 60, 90, 120))
    if maybe(r, 0.35):
        args["attendees"] = sorted({email(r) for _ in range(r.randint(1, 3))})
    if maybe(r, 0.3):
        args["location"] = r.choice(PLACES)
    if maybe(r, 0.25):
        reminder = {"minutes_before": r.choice((5, 10, 15, 30, 60))}
        if maybe(r, 0.5):
            reminder["method"] = r.choice(["popup", "email"])
        args["reminder"] = reminder
    return args


def _reminder_text(args):
    reminder = args.get("reminder")
    if not reminder:
        return {}
    by = f" by {reminder['method']}" if "method" in reminder else ""
    return {"reminder_text": f"Remind me {reminder['minutes_before']} minutes before{by}."}


def _list_run(args, r):
    n = r.randint(0, min(4, args.get("max_results", 4)))
    times = sorted({clock(r) for _ in range(n)})
    events = [{"title": r.choice(MEETING_TITLES), "start_time": t, "calendar": r.choice(["work", "personal"])}
              for t in times]
    if args.get("calendar", "all") != "all":
        for event in events:
            event["calendar"] = args["calendar"]
    return {"date": args["date"], "events": events}


def _list_slots(args, out):
    events = out["events"]
    text = "; ".join(f"{e['start_time']} {e['title']}" for e in events)
    return {"n": str(len(events)), "events_text": text or "nothing scheduled"}


def _next_run(args, r):
    calendar = args.get("calendar", "all")
    return {"title": r.choice(MEETING_TITLES), "date": date(r, start_offset=100, span=30), "start_time": clock(r),
            "location": r.choice(CITIES), "calendar": r.choice(CALENDARS[:2]) if calendar == "all" else calendar}


def _todo_sample(r):
    args = {"title": pick(r, TODO_ITEMS)}
    if maybe(r, 0.5):
        args["due_date"] = date(r)
    if maybe(r, 0.4):
        args["priority"] = r.choice(["low", "medium", "high"])
    if maybe(r, 0.3):
        args["tags"] = r.sample(TAGS, r.randint(1, 2))
    return args


def _reminder_sample(r):
    args = {"message": pick(r, TODO_ITEMS), "when": {"date": date(r), "time": clock(r)}}
    if maybe(r, 0.3):
        args["channel"] = r.choice(["push", "sms", "email"])
    return args


def _timer_sample(r):
    args = {"minutes": r.choice((1, 3, 5, 10, 12, 15, 20, 25, 30, 45, 60, 90))}
    if maybe(r, 0.4):
        args["label"] = r.choice(["pasta", "laundry", "pomodoro", "tea", "oven", "workout break"])
    return args


# The samplers and fake implementations, by function name; the static specs are in
# fc_synthetic/catalogue/office.yaml.
BEHAVIOUR = {
    "create_calendar_event": Behaviour(sample=_event_sample, run=lambda a, r: {"event_id": code(r, "EVT"), "title": a["title"], "date": a["date"], "start_time": a["start_time"],
                      "end_time": _end(a["start_time"], a.get("duration_minutes", 60)),
                      "invited": len(a.get("attendees", [])), "status": "confirmed"}, text_slots=_reminder_text, answer_slots=lambda a, o: {"inv": f" and invited {o['invited']} people" if o["invited"] else ""}),
    "list_calendar_events": Behaviour(sample=lambda r: {"date": date(r), **({"calendar": r.choice(CALENDARS[:2])} if maybe(r, 0.35) else {})}, run=_list_run, answer_slots=_list_slots),
    "get_next_event": Behaviour(sample=lambda r: {"calendar": r.choice(CALENDARS[:2])} if maybe(r, 0.3) else {}, run=_next_run),
    "create_todo": Behaviour(sample=_todo_sample, run=lambda a, r: {"task_id": code(r, "TASK", 5), "title": a["title"], "due_date": a.get("due_date"),
                      "priority": a.get("priority", "medium"), "open_tasks": r.randint(1, 25)}, answer_slots=lambda a, o: {"due": f", due {o['due_date']}" if o["due_date"] else ""}),
    "set_reminder": Behaviour(sample=_reminder_sample, run=lambda a, r: {"reminder_id": code(r, "REM", 5), "message": a["message"], "fires_at":
                      f"{a['when']['date']}T{a['when']['time']}:00", "channel": a.get("channel", "push")}, text_slots=lambda a: {"message": a["message"][0].lower() + a["message"][1:], "when_date": a["when"]["date"],
                          "when_time": a["when"]["time"]}),
    "start_timer": Behaviour(sample=_timer_sample, run=lambda a, r: {"timer_id": f"timer-{r.randint(1, 99)}", "minutes": a["minutes"], "label": a.get("label", "")}, answer_slots=lambda a, o: {"lab": f" ({o['label']})" if o["label"] else ""}),
}
