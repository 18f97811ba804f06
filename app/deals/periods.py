"""Reporting periods written as "2026", "2026-Q4", "2026-11" or an ISO week "2026-W45"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.deals.exceptions import InvalidPeriod

_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-Q(?P<q>[1-4])$", re.IGNORECASE),
    re.compile(r"^(?P<y>\d{4})-(?P<m>0[1-9]|1[0-2])$"),
    re.compile(r"^(?P<y>\d{4})-W(?P<w>0[1-9]|[1-4]\d|5[0-3])$", re.IGNORECASE),
)


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # inclusive
    end: date  # exclusive

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def next(self) -> Period:
        """The period of the same length right after this one."""
        label = self.label.upper()
        if "-W" in label:
            return week_of(self.end)
        if "-Q" in label:
            y, q = int(label[:4]), int(label[-1])
            return parse_period(f"{y + q // 4}-Q{q % 4 + 1}")
        if len(label) == 7:
            return parse_period(f"{self.end.year}-{self.end.month:02d}")
        return parse_period(str(self.end.year))


def parse_period(text: str) -> Period:
    """Parse a period label; a clear 422 names the accepted forms otherwise."""
    text = (text or "").strip()
    for pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return _build(match.groupdict(), text.upper())
            except ValueError as exc:  # year 0, month 13, week 54 …
                raise InvalidPeriod(
                    f"Period {text!r} is out of range ({exc}); use e.g. 2026, 2026-Q4, 2026-11 or 2026-W45."
                ) from exc
    raise InvalidPeriod(f"Period {text!r} is not understood; use 2026, 2026-Q4, 2026-11 or 2026-W45.")


def _build(parts: dict[str, str | None], label: str) -> Period:
    year = int(parts["y"] or 0)
    if parts.get("q"):
        q = int(parts["q"] or 1)
        start = date(year, 3 * q - 2, 1)
        end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    elif parts.get("m"):
        m = int(parts["m"] or 1)
        start = date(year, m, 1)
        end = date(year + 1, 1, 1) if m == 12 else date(year, m + 1, 1)
    elif parts.get("w"):
        start = date.fromisocalendar(year, int(parts["w"] or 1), 1)
        end = start + timedelta(days=7)
    else:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return Period(label=label, start=start, end=end)


def week_of(day: date) -> Period:
    """The ISO week that contains a day."""
    year, week, _ = day.isocalendar()
    return parse_period(f"{year}-W{week:02d}")


def current(kind: str, now: datetime) -> Period:
    """The month, quarter or year containing now."""
    today = now.date()
    if kind == "month":
        return parse_period(f"{today.year}-{today.month:02d}")
    if kind == "quarter":
        return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    return parse_period(str(today.year))
