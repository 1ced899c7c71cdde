"""Synthetic functions: calendar and productivity (to-dos, reminders, timers)."""

from __future__ import annotations

from ..pools import CITIES, MEETING_TITLES, TAGS, TODO_ITEMS, clock, code, date, email, pick
from ..spec import FunctionSpec, array, integer, maybe, obj, params, string

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


CREATE_EVENT = FunctionSpec(
    name="create_calendar_event", domain="calendar", task="add events to your calendar",
    description="Create an event in the user's calendar, optionally inviting attendees.",
    parameters=params(
        {"title": string("Event title."), "date": string("Event date, YYYY-MM-DD."),
         "start_time": string("Start time, HH:MM (24h).")},
        {"duration_minutes": integer("Length of the event.", minimum=15, maximum=480, default=60),
         "attendees": array(string("E-mail address."), "People to invite.", max_items=20),
         "location": string("Where the event takes place."),
         "reminder": obj({"minutes_before": integer("Minutes before the start.", minimum=0, maximum=10080)},
                         {"method": string("How to remind.", enum=["popup", "email"], default="popup")},
                         description="Reminder settings. Default: no reminder.")}),
    sample=_event_sample,
    run=lambda a, r: {"event_id": code(r, "EVT"), "title": a["title"], "date": a["date"], "start_time": a["start_time"],
                      "end_time": _end(a["start_time"], a.get("duration_minutes", 60)),
                      "invited": len(a.get("attendees", [])), "status": "confirmed"},
    requests=("Schedule '{title}' on {date} at {start_time}.", "Add {title} to my calendar for {date} at {start_time}.",
              "Create a calendar event called {title} on {date}, starting {start_time}.",
              "Put {title} in my calendar: {date}, {start_time}.", "book {title} on {date} {start_time}"),
    extras={"duration_minutes": ("It lasts {duration_minutes} minutes.", "Make it {duration_minutes} minutes long."),
            "attendees": ("Invite {attendees}.", "Send invites to {attendees}."),
            "location": ("It's at {location}.", "Location: {location}."), "reminder": ("{reminder_text}",)},
    text_slots=_reminder_text,
    answers=("'{title}' is on your calendar for {date}, {start_time}-{end_time}.",
             "Done! I created '{title}' on {date} from {start_time} to {end_time}{inv}."),
    answer_slots=lambda a, o: {"inv": f" and invited {o['invited']} people" if o["invited"] else ""},
)


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


LIST_EVENTS = FunctionSpec(
    name="list_calendar_events", domain="calendar", task="look up your calendar",
    description="List the events in the user's calendar on a given day.",
    parameters=params({"date": string("Day to list, YYYY-MM-DD.")},
                      {"calendar": string("Which calendar.", enum=CALENDARS, default="all"),
                       "max_results": integer("Maximum events returned.", minimum=1, maximum=50, default=10)}),
    sample=lambda r: {"date": date(r), **({"calendar": r.choice(CALENDARS[:2])} if maybe(r, 0.35) else {})},
    run=_list_run,
    requests=("What's on my calendar on {date}?", "Do I have any meetings on {date}?",
              "Show me my schedule for {date}.", "what am I doing on {date}"),
    extras={"calendar": ("Only my {calendar} calendar.", "Just check the {calendar} calendar."),
            "max_results": ("At most {max_results} events.",)},
    vary="date", pair_requests=("What's on my calendar on {x1} and on {x2}?",),
    answers=("On {date} you have {n} event(s): {events_text}.", "Your schedule for {date}: {events_text}."),
    answer_slots=_list_slots,
)


def _next_run(args, r):
    calendar = args.get("calendar", "all")
    return {"title": r.choice(MEETING_TITLES), "date": date(r, start_offset=100, span=30), "start_time": clock(r),
            "location": r.choice(CITIES), "calendar": r.choice(CALENDARS[:2]) if calendar == "all" else calendar}


NEXT_EVENT = FunctionSpec(
    name="get_next_event", domain="calendar", task="tell you your next calendar event",
    description="Get the user's next upcoming calendar event.",
    parameters=params({}, {"calendar": string("Which calendar.", enum=CALENDARS, default="all")}),
    sample=lambda r: {"calendar": r.choice(CALENDARS[:2])} if maybe(r, 0.3) else {},
    run=_next_run,
    requests=("What's my next meeting?", "What's next on my calendar?", "When is my next appointment?",
              "Do I have anything coming up?"),
    extras={"calendar": ("Check my {calendar} calendar.", "Only the {calendar} one.")},
    answers=("Your next event is '{title}' on {date} at {start_time} in {location}.",
             "Next up: {title}, {date} {start_time}, {location}."),
)


def _todo_sample(r):
    args = {"title": pick(r, TODO_ITEMS)}
    if maybe(r, 0.5):
        args["due_date"] = date(r)
    if maybe(r, 0.4):
        args["priority"] = r.choice(["low", "medium", "high"])
    if maybe(r, 0.3):
        args["tags"] = r.sample(TAGS, r.randint(1, 2))
    return args


TODO = FunctionSpec(
    name="create_todo", domain="productivity", task="manage your to-do list",
    description="Add a task to the user's to-do list.",
    parameters=params({"title": string("What needs doing.")},
                      {"due_date": string("Due date, YYYY-MM-DD."),
                       "priority": string("Priority.", enum=["low", "medium", "high"], default="medium"),
                       "tags": array(string("Tag."), "Tags for filtering.", max_items=5)}),
    sample=_todo_sample,
    run=lambda a, r: {"task_id": code(r, "TASK", 5), "title": a["title"], "due_date": a.get("due_date"),
                      "priority": a.get("priority", "medium"), "open_tasks": r.randint(1, 25)},
    requests=("Add '{title}' to my to-do list.", "Add this to my tasks: {title}.", "New task: {title}.",
              "Put {title} on my todo list please"),
    extras={"due_date": ("It's due {due_date}.", "Deadline {due_date}."),
            "priority": ("Mark it {priority} priority.", "Priority: {priority}."),
            "tags": ("Tag it {tags}.",)},
    answers=("Added '{title}' ({priority} priority){due}. You now have {open_tasks} open tasks.",
             "'{title}' is on your list{due}."),
    answer_slots=lambda a, o: {"due": f", due {o['due_date']}" if o["due_date"] else ""},
)


def _reminder_sample(r):
    args = {"message": pick(r, TODO_ITEMS), "when": {"date": date(r), "time": clock(r)}}
    if maybe(r, 0.3):
        args["channel"] = r.choice(["push", "sms", "email"])
    return args


REMINDER = FunctionSpec(
    name="set_reminder", domain="productivity", task="set reminders",
    description="Schedule a reminder notification at a given date and time.",
    parameters=params({"message": string("What to be reminded of."),
                       "when": obj({"date": string("YYYY-MM-DD."), "time": string("HH:MM (24h).")},
                                   description="When the reminder fires.")},
                      {"channel": string("How to deliver it.", enum=["push", "sms", "email"], default="push")}),
    sample=_reminder_sample,
    run=lambda a, r: {"reminder_id": code(r, "REM", 5), "message": a["message"], "fires_at":
                      f"{a['when']['date']}T{a['when']['time']}:00", "channel": a.get("channel", "push")},
    requests=("Remind me to {message} on {when_date} at {when_time}.",
              "Set a reminder for {when_date} at {when_time}: {message}.",
              "On {when_date} at {when_time}, remind me: {message}."),
    text_slots=lambda a: {"message": a["message"][0].lower() + a["message"][1:], "when_date": a["when"]["date"],
                          "when_time": a["when"]["time"]},
    extras={"channel": ("Send it by {channel}.", "Use {channel}.")},
    answers=("I'll remind you to {message} on {when_date} at {when_time} (via {channel}).",
             "Reminder {reminder_id} set for {when_date} {when_time}."),
)


def _timer_sample(r):
    args = {"minutes": r.choice((1, 3, 5, 10, 12, 15, 20, 25, 30, 45, 60, 90))}
    if maybe(r, 0.4):
        args["label"] = r.choice(["pasta", "laundry", "pomodoro", "tea", "oven", "workout break"])
    return args


TIMER = FunctionSpec(
    name="start_timer", domain="productivity", task="start timers",
    description="Start a countdown timer.",
    parameters=params({"minutes": integer("Timer length in minutes.", minimum=1, maximum=240)},
                      {"label": string("Name of the timer.")}),
    sample=_timer_sample,
    run=lambda a, r: {"timer_id": f"timer-{r.randint(1, 99)}", "minutes": a["minutes"], "label": a.get("label", "")},
    requests=("Start a {minutes} minute timer.", "Set a timer for {minutes} minutes.", "Timer, {minutes} minutes.",
              "Can you count down {minutes} minutes for me?"),
    extras={"label": ("Call it {label}.", "It's for the {label}.")},
    answers=("Your {minutes}-minute timer is running.", "Timer started: {minutes} minutes{lab}."),
    answer_slots=lambda a, o: {"lab": f" ({o['label']})" if o["label"] else ""},
)

FUNCTIONS = [CREATE_EVENT, LIST_EVENTS, NEXT_EVENT, TODO, REMINDER, TIMER]
