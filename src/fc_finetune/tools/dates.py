"""Calendar arithmetic on ISO dates (``YYYY-MM-DD``), deterministic: no notion of "today".

Months and years are calendar units: adding one month to 2024-01-31 gives 2024-02-29 (the
day is clamped to the end of a shorter month), and a difference in months counts the whole
months from the start date that fit before the end date, with the days left over.

>>> add_to_date("2024-01-31", months=1)["date"]
'2024-02-29'
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from typing import Literal

logger = logging.getLogger(__name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_date(text: str, what: str = "date") -> dt.date:
    """An ISO calendar date; ``ValueError`` saying what was expected otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string in YYYY-MM-DD format, got {text!r}")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as e:
        raise ValueError(f"{what} {text!r} is not a valid date ({e}); use the ISO format YYYY-MM-DD, "
                         "e.g. 2024-03-15") from None


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` moved by whole calendar months, the day clamped to the target month's length."""
    index = date.year * 12 + (date.month - 1) + months
    year, month = divmod(index, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError(f"the result would be outside the supported years {dt.MINYEAR}-{dt.MAXYEAR}")
    return dt.date(year, month + 1, min(date.day, calendar.monthrange(year, month + 1)[1]))


def _whole_months(start: dt.date, end: dt.date) -> int:
    """The number of whole months from ``start`` that fit at or before ``end`` (start <= end)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return months


def date_difference(start: str, end: str, unit: Literal["days", "weeks", "months", "years"] = "days") -> dict:
    """The time from one date to another, in whole units plus the days left over.

    The result is negative when end is before start.

    Args:
        start: The first date, in YYYY-MM-DD format.
        end: The second date, in YYYY-MM-DD format.
        unit: The unit to count in: days, weeks, months or years (calendar months and years).
    """
    first, second = parse_date(start, "start"), parse_date(end, "end")
    if unit not in ("days", "weeks", "months", "years"):
        raise ValueError(f"unit must be one of days, weeks, months, years; got {unit!r}")
    sign = -1 if second < first else 1
    lo, hi = min(first, second), max(first, second)
    total = (hi - lo).days
    if unit == "days":
        value, rest = total, 0
    elif unit == "weeks":
        value, rest = divmod(total, 7)
    else:
        months = _whole_months(lo, hi)
        value = months if unit == "months" else months // 12
        rest = (hi - add_months(lo, value if unit == "months" else value * 12)).days
    return {"start": first.isoformat(), "end": second.isoformat(), "unit": unit, "value": sign * value,
            "remainder_days": sign * rest, "total_days": sign * total}


def add_to_date(date: str, days: int = 0, weeks: int = 0, months: int = 0, years: int = 0) -> dict:
    """Add (or, with negative numbers, subtract) an amount of time to a date.

    Years and months are applied first, as calendar units (the day is clamped to the end of a
    shorter month), then weeks and days.

    Args:
        date: The starting date, in YYYY-MM-DD format.
        days: Days to add; negative to go back.
        weeks: Weeks to add; negative to go back.
        months: Calendar months to add; negative to go back.
        years: Calendar years to add; negative to go back.
    """
    start = parse_date(date)
    for name, amount in (("days", days), ("weeks", weeks), ("months", months), ("years", years)):
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"{name} must be a whole number, got {amount!r}")
    try:
        result = add_months(start, months + 12 * years) + dt.timedelta(days=days, weeks=weeks)
    except OverflowError:
        raise ValueError(f"the result would be outside the supported years {dt.MINYEAR}-{dt.MAXYEAR}") from None
    logger.debug("add_to_date(%s, d=%d w=%d m=%d y=%d) = %s", start, days, weeks, months, years, result)
    return {"date": result.isoformat(), "day_of_week": WEEKDAYS[result.weekday()]}


def day_of_week(date: str) -> dict:
    """The day of the week a date falls on.

    Args:
        date: The date, in YYYY-MM-DD format.
    """
    parsed = parse_date(date)
    year, week, weekday = parsed.isocalendar()
    return {"date": parsed.isoformat(), "day_of_week": WEEKDAYS[parsed.weekday()], "iso_weekday": weekday,
            "iso_week": week, "iso_year": year}
