"""Geometry of the server-side SVG charts (timeline, funnel, conversion, forecast).

Only numbers and plain strings come out of here; the templates draw them, so every label and
tooltip is escaped by Jinja's autoescape like the rest of the page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.transcripts.formats import Utterance

# Distinguishable on white and for the common colour-vision deficiencies (Tableau 10 + 2).
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
           "#b07aa1", "#ff9da7", "#9c755f", "#17becf", "#bcbd22", "#7f7f7f")
ROLE_COLOURS = {"rep": "#3b6ea5", "customer": "#d9822b", "unknown": "#8a8f98"}
OFF_SOP_COLOUR = "#c9ccd1"

WIDTH, LEFT, RIGHT = 1000.0, 96.0, 12.0
TICK_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


def mmss(seconds: float | None) -> str:
    """01:05 (or 1:02:05 past an hour)."""
    if seconds is None:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def text_width(text: str, size: float = 11.0) -> float:
    """Rough rendered width: CJK characters are about twice as wide as Latin ones."""
    return sum(size * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.58) for ch in text)


def fit(text: str, width: float, size: float = 11.0) -> str:
    """The text, shortened with an ellipsis to fit `width` pixels ('' when nothing sensible fits)."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…" if len(out) >= 2 else ""


def step_colours(step_ids: Sequence[str]) -> dict[str, str]:
    """One colour per step in prescribed order (cycling after twelve)."""
    return {step_id: PALETTE[i % len(PALETTE)] for i, step_id in enumerate(step_ids)}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str
    t: float
    label: str = ""
    css: str = ""
    index: int | None = None


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    symbol: str
    title: str
    t: float
    css: str


@dataclass(frozen=True)
class Lane:
    name: str
    y: float
    height: float


@dataclass(frozen=True)
class Timeline:
    width: float
    height: float
    left: float
    scale: float  # pixels per second
    lanes: list[Lane]
    ticks: list[tuple[float, str]]
    utterances: list[Bar]
    path: list[Bar]
    shades: list[Bar]
    markers: list[Marker]
    guides: list[Bar] = field(default_factory=list)


LANES = (Lane("Rep", 28, 20), Lane("Customer", 54, 20), Lane("SOP path", 84, 28), Lane("Deviations", 120, 34))


def timeline(*, utterances: Sequence[Utterance], duration: float | None, labels: Mapping[int, Mapping[str, Any]],
             names: Mapping[str, str], colours: Mapping[str, str], result: Mapping[str, Any] | None) -> Timeline:
    """Lanes for rep and customer speech, the SOP path actually taken and the deviations found."""
    end = max([duration or 0.0, 1.0] + [u.end for u in utterances])
    scale = (WIDTH - LEFT - RIGHT) / end
    lanes = list(LANES if result else LANES[:2])
    bars = [_utterance_bar(u, scale, labels.get(u.index), names) for u in utterances]
    path, shades, markers, guides = ([], [], [], []) if not result else _sop_layers(result, scale, names, colours)
    height = lanes[-1].y + lanes[-1].height + 8
    shades = [Bar(s.x, 22, s.width, height - 26, s.colour, s.title, s.t, css=s.css) for s in shades]
    return Timeline(WIDTH, height, LEFT, scale, lanes, _ticks(end, scale), bars, path, shades, markers, guides)


def _x(t: float, scale: float) -> float:
    return round(LEFT + t * scale, 2)


def _width(start: float, stop: float, scale: float) -> float:
    return round(max(1.5, (stop - start) * scale), 2)


def _ticks(end: float, scale: float) -> list[tuple[float, str]]:
    step = next((s for s in TICK_STEPS if end / s <= 10), TICK_STEPS[-1])
    return [(_x(t, scale), mmss(t)) for t in range(0, int(end) + 1, step)]


def _utterance_bar(u: Utterance, scale: float, label: Mapping[str, Any] | None, names: Mapping[str, str]) -> Bar:
    lane = LANES[1] if u.role == "customer" else LANES[0]
    step = label.get("step_id") if label else None
    where = f" — {names.get(step, step)} ({label['score']:.2f})" if step and label else " — off-SOP" if label else ""
    text = u.text if len(u.text) <= 280 else u.text[:279] + "…"
    title = f"[{mmss(u.start)}] {u.role.capitalize()}: {text}{where}"
    css = f"utt {u.role}" + (" offsop" if label is not None and not step else "")
    return Bar(_x(u.start, scale), lane.y, _width(u.start, u.end, scale), lane.height,
               ROLE_COLOURS.get(u.role, ROLE_COLOURS["unknown"]), title, u.start, css=css, index=u.index)


def _sop_layers(result: Mapping[str, Any], scale: float, names: Mapping[str, str],
                colours: Mapping[str, str]) -> tuple[list[Bar], list[Bar], list[Marker], list[Bar]]:
    lane, dev = LANES[2], LANES[3]
    path = []
    for seg in result["match"]["path"]:
        name = names.get(seg["step_id"], seg["step_id"])
        width = _width(seg["start"], seg["end"], scale)
        title = (f"{name} · {mmss(seg['start'])}–{mmss(seg['end'])} · utterances "
                 f"{', '.join(str(i) for i in seg['utterance_indexes'])}")
        path.append(Bar(_x(seg["start"], scale), lane.y, width, lane.height, colours.get(seg["step_id"], "#999"),
                        title, seg["start"], label=fit(name, width - 6), css="seg"))
    comparison = result["comparison"]
    shades = [Bar(_x(s["start"], scale), 0, _width(s["start"], s["end"], scale), 0, OFF_SOP_COLOUR,
                  f"Off-SOP stretch {mmss(s['start'])}–{mmss(s['end'])} ({s['duration']:.0f} s)", s["start"],
                  css="offsop-shade") for s in comparison.get("off_sop_stretches", [])]
    markers, guides = _deviation_markers(comparison, scale, names, dev)
    return path, shades, markers, guides


def _deviation_markers(comparison: Mapping[str, Any], scale: float, names: Mapping[str, str],
                       dev: Lane) -> tuple[list[Marker], list[Bar]]:
    found: list[tuple[float, str, str, str]] = []  # (t, symbol, title, css)
    for m in comparison.get("missed", []):
        name = names.get(m["step_id"], m["step_id"])
        after = f" (expected after {names.get(m['expected_after'], m['expected_after'])})" if m["expected_after"] else ""
        found.append((m["expected_at"] or 0.0, "✗", f"Missed required step: {name}{after}", "missed"))
    for o in comparison.get("out_of_order", []):
        name, after = names.get(o["step_id"], o["step_id"]), names.get(o["after_step"], o["after_step"])
        found.append((o["start"], "⇄", f"Out of order: {name} at {mmss(o['start'])}, after {after} was already done",
                      "ooo"))
    for r in comparison.get("repeated", []):
        name = names.get(r["step_id"], r["step_id"])
        for k, (start, _end) in enumerate(r["spans"][1:], start=2):
            found.append((start, "↺", f"Repeated: {name} (visit {k} of {r['visits']}) at {mmss(start)}", "repeated"))
    markers, guides, last_x = [], [], [-99.0, -99.0]
    for t, symbol, title, css in sorted(found, key=lambda f: f[0]):
        x = _x(t, scale)
        row = 0 if x - last_x[0] >= 14 else 1  # a second row when two markers would overlap
        last_x[row] = x
        markers.append(Marker(x, dev.y + 13 + row * 16, symbol, title, t, css))
        if css == "missed":
            guides.append(Bar(x, LANES[0].y, 0, dev.y - LANES[0].y, "#c0392b", title, t, css="guide"))
    return markers, guides


# ---------------------------------------------------------------- pipeline charts


@dataclass(frozen=True)
class HBar:
    y: float
    width: float
    label: str
    value: str
    note: str = ""
    css: str = ""
    marker: float | None = None  # x of a reference tick (e.g. deals needed)
    title: str = ""


@dataclass(frozen=True)
class HChart:
    width: float
    height: float
    left: float
    bar_height: float
    bars: list[HBar]


def funnel_chart(stages: Sequence[Any], currency_note: str) -> HChart:
    """One bar per stage, length ∝ open deals; holes flagged; the tick marks the deals needed."""
    top = max([1] + [s.deals for s in stages] + [s.needed_deals or 0 for s in stages])
    span = WIDTH - 200 - 330
    bars = []
    for i, s in enumerate(stages):
        needed = f"needs {s.needed_deals}" if s.needed_deals is not None else ""
        note = f"⚠ sales hole: {needed}" if s.hole else (needed + (" · widens" if s.widens else ""))
        marker = 200 + s.needed_deals / top * span if s.needed_deals is not None else None
        deals = f"{s.deals} deal{'' if s.deals == 1 else 's'}"
        bars.append(HBar(10 + i * 34, max(2.0, s.deals / top * span), fit(s.name, 184, 13),
                         f"{deals} · {_money(s.amount)}", note.strip(" ·"), "hole" if s.hole else "", marker, s.formula))
    return HChart(WIDTH, 20 + len(stages) * 34, 200, 24, bars)


def conversion_chart(transitions: Sequence[Any], names: Mapping[str, str]) -> HChart:
    """One bar per transition, length ∝ conversion rate; the weakest one highlighted."""
    span = WIDTH - 240 - 240
    bars = []
    for i, t in enumerate(transitions):
        label = fit(f"{names.get(t.from_stage, t.from_stage)} → {names.get(t.to_stage, t.to_stage)}", 224, 13)
        rate = "n/a" if t.rate is None else f"{t.rate:.0%}"
        bars.append(HBar(10 + i * 34, max(2.0, (t.rate or 0) * span), label, f"{rate} ({t.advanced}/{t.entered})",
                         "weakest" if t.weakest else "", "weakest" if t.weakest else "", title=t.formula))
    return HChart(WIDTH, 20 + len(transitions) * 34, 240, 24, bars)


@dataclass(frozen=True)
class ForecastBar:
    y: float
    currency: str
    won_w: float
    weighted_w: float
    target_x: float | None
    text: str
    formula: str


def forecast_chart(totals: Sequence[Any]) -> tuple[float, list[ForecastBar]]:
    """Won + weighted open deals stacked against the target, one row per currency."""
    span, left = WIDTH - 120 - 40, 120.0
    rows = []
    for i, t in enumerate(totals):
        top = max(Decimal(1), t.won + t.weighted, t.target or Decimal(0))
        px = float(span) / float(top)
        target = "no target" if t.target is None else f"target {_money(t.target)}, gap {_money(t.gap)}"
        rows.append(ForecastBar(10 + i * 50, t.currency, float(t.won) * px, float(t.weighted) * px,
                                None if t.target is None else left + float(t.target) * px,
                                f"won {_money(t.won)} + weighted {_money(t.weighted)} · {target}", t.formula))
    return 20 + len(rows) * 50, rows


def _money(value: Decimal | None) -> str:
    return "–" if value is None else f"{value:,.0f}"
