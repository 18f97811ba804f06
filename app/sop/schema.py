"""Pydantic models of an SOP / sales-process definition file (see DESIGN.md, "SOP definitions")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

MIN_EXAMPLES = 5
CROSS_CHECK_ERROR = "sop_cross_check"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Language(StrEnum):
    EN = "en"
    ZH = "zh"


class SopKind(StrEnum):
    CALL = "call"  # one call's prescribed path
    PROCESS = "process"  # a deal process: stages with the calls expected in each


class Speaker(StrEnum):
    REP = "rep"
    CUSTOMER = "customer"
    ANY = "any"


class Approval(StrEnum):
    NONE = "none"
    MANAGER = "manager"


def _check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            f"'{value}' is not a slug: use lowercase letters, digits and single hyphens "
            "(e.g. confirm-budget)"
        )
    return value


Slug = Annotated[str, Field(min_length=1, max_length=80)]
Text = Annotated[str, Field(min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Step(_Frozen):
    """One conversation step: who says it, whether it is required, and how it sounds."""

    id: Slug
    name: Text
    description: str | None = None
    speaker: Speaker = Speaker.REP
    required: bool = False
    examples: list[Text]
    keywords: list[Text] = Field(default_factory=list)
    # A customer step that is the customer's answer to one rep step (accepting the proposed date,
    # confirming the terms): the customer's turns in that exchange are labelled with this step,
    # not with the rep's (app/sop/matcher.py). Without it, a customer's answer carries the rep's step.
    reply_to: Slug | None = None

    _slug = field_validator("id")(_check_slug)

    @field_validator("examples")
    @classmethod
    def _enough_examples(cls, value: list[str]) -> list[str]:
        if len(value) < MIN_EXAMPLES:
            raise ValueError(f"at least {MIN_EXAMPLES} examples required, found {len(value)}")
        if len(set(value)) != len(value):
            raise ValueError("examples must be distinct (found a duplicate)")
        return value


class Stage(_Frozen):
    """A stage of the call or deal process, with the steps expected in it (list order = prescribed order)."""

    id: Slug
    name: Text
    description: str | None = None
    win_probability: float | None = Field(default=None, ge=0.0, le=1.0)
    expected_days: float | None = Field(default=None, ge=0.0)
    required_feedback: list[Text] = Field(default_factory=list)
    approval: Approval = Approval.NONE
    roles: list[Text] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    _slug = field_validator("id")(_check_slug)


class SopDefinition(_Frozen):
    """A whole SOP file: identity, version, language and the ordered stages."""

    id: Slug
    version: int = Field(ge=1)
    name: Text
    language: Language
    description: str | None = None
    kind: SopKind = SopKind.CALL
    stages: list[Stage] = Field(min_length=1)

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _cross_checks(self) -> SopDefinition:
        problems = cross_check_problems(self)
        if problems:
            # The loader runs these checks on the raw data itself, to give each its own line.
            raise PydanticCustomError(CROSS_CHECK_ERROR, "; ".join(msg for _path, msg in problems))
        return self

    def steps(self) -> list[tuple[Stage, Step]]:
        """All steps in prescribed order, each with its stage."""
        return [(stage, step) for stage in self.stages for step in stage.steps]

    def split_stage_ids(self, stage_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """(the given ids that are stages of this SOP, in its order; the others, as given)."""
        given = list(dict.fromkeys(stage_ids))
        known = [st.id for st in self.stages]
        return [st for st in known if st in given], [st for st in given if st not in known]

    def step(self, step_id: str) -> Step:
        """The step with this id (KeyError if absent)."""
        for _stage, step in self.steps():
            if step.id == step_id:
                return step
        raise KeyError(step_id)


Problem = tuple[tuple[str | int, ...], str]


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def duplicate_id_problems(data: Any) -> list[Problem]:
    """Stage and step ids must be unique across the whole file (they key stored results)."""
    seen: dict[str, str] = {}
    problems: list[Problem] = []

    def check(ident: Any, loc: tuple[str | int, ...], where: str) -> None:
        if not isinstance(ident, str):
            return
        if ident in seen:
            problems.append((loc, f"duplicate id '{ident}' (already used by {seen[ident]})"))
        else:
            seen[ident] = where

    for si, stage in enumerate(_items(_get(data, "stages"))):
        check(_get(stage, "id"), ("stages", si, "id"), f"stages[{si}]")
        for pi, step in enumerate(_items(_get(stage, "steps"))):
            check(_get(step, "id"), ("stages", si, "steps", pi, "id"), f"stages[{si}].steps[{pi}]")
    return problems


def win_probability_problems(data: Any) -> list[Problem]:
    """A later stage cannot be less likely to win than an earlier one (the forecast relies on it)."""
    problems: list[Problem] = []
    best: tuple[float, int] | None = None
    for si, stage in enumerate(_items(_get(data, "stages"))):
        p = _get(stage, "win_probability")
        if not isinstance(p, (int, float)) or isinstance(p, bool):
            continue
        if best is not None and p < best[0]:
            problems.append(
                (
                    ("stages", si, "win_probability"),
                    (
                        f"win_probability {p} is lower than {best[0]} of earlier stages[{best[1]}]; "
                        "probabilities must not decrease along the stages"
                    ),
                )
            )
        else:
            best = (float(p), si)
    return problems


def reply_to_problems(data: Any) -> list[Problem]:
    """`reply_to` names a rep step of the same SOP, on a customer step, and each rep step has at
    most one reply step."""
    steps = [
        (si, pi, step)
        for si, stage in enumerate(_items(_get(data, "stages")))
        for pi, step in enumerate(_items(_get(stage, "steps")))
    ]
    speakers = {_get(step, "id"): _get(step, "speaker") or "rep" for _si, _pi, step in steps}
    problems: list[Problem] = []
    answered: dict[str, str] = {}
    for si, pi, step in steps:
        target = _get(step, "reply_to")
        if not isinstance(target, str):
            continue
        loc = ("stages", si, "steps", pi, "reply_to")
        if str(_get(step, "speaker") or "rep") != "customer":
            problems.append((loc, "reply_to is for customer steps: set speaker: customer or remove reply_to"))
        elif target not in speakers:
            problems.append((loc, f"reply_to '{target}' is not a step of this SOP"))
        elif str(speakers[target]) != "rep":
            problems.append((loc, f"reply_to '{target}' must name a rep step (it has speaker: {speakers[target]})"))
        elif target in answered:
            problems.append((loc, f"'{target}' already has a reply step ('{answered[target]}')"))
        else:
            answered[target] = str(_get(step, "id"))
    return problems


def cross_check_problems(data: Any) -> list[Problem]:
    """Checks that span several stages/steps; run on raw data so they report even beside field errors."""
    return duplicate_id_problems(data) + win_probability_problems(data) + reply_to_problems(data)


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)
