"""Load SOP YAML with file/line/field error reporting; content hash and diff between versions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from app.errors import Unprocessable
from app.sop.schema import CROSS_CHECK_ERROR, SopDefinition, Stage, Step, cross_check_problems

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SopIssue:
    """One problem in an SOP file, pinned to a line and a field."""

    file: str
    line: int
    field_path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.field_path}:" if self.field_path else ""
        return f"{self.file}:{self.line}{where} {self.message}"


class SopValidationError(Unprocessable):
    """The SOP file is invalid; `issues` lists every problem found, each with file, line and field."""

    def __init__(self, issues: Sequence[SopIssue]) -> None:
        self.issues = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in SOP definition"
        super().__init__(head + ":\n" + "\n".join(f"  {issue}" for issue in self.issues))


def format_path(loc: Loc) -> str:
    """('stages', 1, 'steps', 0, 'examples') -> 'stages[1].steps[0].examples'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _LineIndex:
    """Maps a field path to the 1-based line where it is written, from yaml.compose node marks."""

    def __init__(self, root: yaml.Node) -> None:
        self.root = root

    def line(self, loc: Loc) -> int:
        """Line of the deepest node on the path that exists (a key's own line for mapping fields)."""
        node: yaml.Node = self.root
        line = node.start_mark.line + 1
        for part in loc:
            nxt = self._child(node, part)
            if nxt is None:
                break
            key_node, node = nxt
            line = (key_node or node).start_mark.line + 1
        return line

    @staticmethod
    def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    return key, value
        if (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            return None, node.value[part]
        return None


def _duplicate_keys(node: yaml.Node, loc: Loc = ()) -> Iterator[tuple[Loc, int, str]]:
    """YAML silently keeps the last of two equal keys; an SOP author almost never means that."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name in seen:
                yield (
                    loc + (name,),
                    key.start_mark.line + 1,
                    (f"duplicate key '{name}' (first written on line {seen[name]})"),
                )
            elif name is not None:
                seen[name] = key.start_mark.line + 1
            yield from _duplicate_keys(value, loc + ((name,) if name is not None else ()))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, loc + (i,))


def _pydantic_message(error: Any) -> str:
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if error["type"] == "extra_forbidden":
        msg = "unknown field (not part of the SOP schema; check the spelling)"
    elif error["type"] == "missing":
        msg = "required field is missing"
    elif error["type"] in ("enum", "literal_error", "greater_than_equal", "less_than_equal"):
        msg = f"{msg}, found {error['input']!r}"
    return msg


def _parse_yaml(text: str, source: str) -> tuple[Any, yaml.Node]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise SopValidationError(
            [SopIssue(source, line, "", f"malformed YAML: {problem}")]
        ) from exc
    except yaml.YAMLError as exc:
        raise SopValidationError([SopIssue(source, 1, "", f"malformed YAML: {exc}")]) from exc
    if root is None or not isinstance(data, dict):
        found = "an empty file" if root is None else f"a {type(data).__name__}"
        raise SopValidationError(
            [
                SopIssue(
                    source, 1, "", f"expected a mapping with id, version, stages…; found {found}"
                )
            ]
        )
    return data, root


def load_sop(text: str, *, source: str) -> SopDefinition:
    """Parse and validate SOP YAML; raise SopValidationError listing every issue with its line."""
    data, root = _parse_yaml(text, source)
    lines = _LineIndex(root)
    found: dict[tuple[int, str, str], SopIssue] = {}

    def add(loc: Loc, message: str, line: int | None = None) -> None:
        issue = SopIssue(source, line or lines.line(loc), format_path(loc), message)
        found.setdefault((issue.line, issue.field_path, issue.message), issue)

    for loc, line, message in _duplicate_keys(root):
        add(loc, message, line)
    for loc, message in cross_check_problems(data):
        add(loc, message)
    try:
        sop = SopDefinition.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            if error["type"] != CROSS_CHECK_ERROR:  # already reported per field above
                add(tuple(error["loc"]), _pydantic_message(error))
    else:
        if not found:
            return sop
    raise SopValidationError(sorted(found.values(), key=lambda i: (i.line, i.field_path)))


def load_sop_file(path: str) -> SopDefinition:
    """Read and validate one SOP file from disk."""
    with open(path, encoding="utf-8") as fh:
        return load_sop(fh.read(), source=path)


def sop_hash(definition: SopDefinition) -> str:
    """Stable sha256 of the definition's content (independent of YAML layout, comments, key order)."""
    canonical = json.dumps(definition.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# diff


@dataclass(frozen=True)
class SopChange:
    """One difference between two versions of an SOP."""

    kind: str  # e.g. step_added, step_removed, step_renamed, examples_added, step_order_changed
    path: str  # stage or step id the change is about ("" for the whole SOP)
    message: str
    old: Any = None
    new: Any = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


_SOP_FIELDS = ("name", "language", "description", "kind", "version")
_STAGE_FIELDS = (
    "name",
    "description",
    "win_probability",
    "expected_days",
    "required_feedback",
    "approval",
    "roles",
)
_STEP_FIELDS = ("name", "description", "speaker", "required", "keywords")
# Two steps with different ids but this share of shared examples are reported as one step re-keyed.
_REKEY_OVERLAP = 0.6


def diff_sops(old: SopDefinition, new: SopDefinition) -> list[SopChange]:
    """Changes from `old` to `new`: stages/steps added, removed, renamed, moved, re-ordered, edited."""
    changes: list[SopChange] = []
    for name in _SOP_FIELDS:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            changes.append(
                SopChange("sop_changed", "", f"{name}: {a!r} → {b!r}", a, b, {"field": name})
            )
    changes += _diff_stages(old, new)
    changes += _diff_steps(old, new)
    return changes


def _diff_stages(old: SopDefinition, new: SopDefinition) -> list[SopChange]:
    changes: list[SopChange] = []
    old_st = {s.id: s for s in old.stages}
    new_st = {s.id: s for s in new.stages}
    for sid in old_st.keys() - new_st.keys():
        changes.append(SopChange("stage_removed", sid, f"stage '{sid}' removed"))
    for sid in new_st.keys() - old_st.keys():
        changes.append(SopChange("stage_added", sid, f"stage '{sid}' added"))
    for sid in old_st.keys() & new_st.keys():
        changes += _field_changes("stage", sid, old_st[sid], new_st[sid], _STAGE_FIELDS)
    changes += _order_changes("stage", [s.id for s in old.stages], [s.id for s in new.stages])
    return sorted(changes, key=lambda c: (c.kind, c.path))


def _diff_steps(old: SopDefinition, new: SopDefinition) -> list[SopChange]:
    changes: list[SopChange] = []
    old_sp = {step.id: (stage, step) for stage, step in old.steps()}
    new_sp = {step.id: (stage, step) for stage, step in new.steps()}
    removed = sorted(old_sp.keys() - new_sp.keys())
    added = sorted(new_sp.keys() - old_sp.keys())
    for rid in list(removed):
        match = _rekeyed(old_sp[rid][1], [new_sp[a][1] for a in added])
        if match is not None:
            removed.remove(rid)
            added.remove(match.id)
            changes.append(
                SopChange(
                    "step_renamed", match.id, f"step id '{rid}' → '{match.id}'", rid, match.id
                )
            )
    changes += [SopChange("step_removed", r, f"step '{r}' removed") for r in removed]
    changes += [
        SopChange("step_added", a, f"step '{a}' added to stage '{new_sp[a][0].id}'") for a in added
    ]
    for sid in sorted(old_sp.keys() & new_sp.keys()):
        (ost, ostep), (nst, nstep) = old_sp[sid], new_sp[sid]
        if ost.id != nst.id:
            changes.append(
                SopChange(
                    "step_moved", sid, f"step '{sid}' moved {ost.id} → {nst.id}", ost.id, nst.id
                )
            )
        changes += _field_changes("step", sid, ostep, nstep, _STEP_FIELDS)
        changes += _example_changes(sid, ostep, nstep)
    old_order = [s.id for _st, s in old.steps()]
    new_order = [s.id for _st, s in new.steps()]
    changes += _order_changes("step", old_order, new_order)
    return changes


def _rekeyed(old_step: Step, candidates: list[Step]) -> Step | None:
    a = set(old_step.examples)
    for cand in candidates:
        if len(a & set(cand.examples)) / max(len(a), 1) >= _REKEY_OVERLAP:
            return cand
    return None


def _field_changes(
    what: str, ident: str, a: Stage | Step, b: Stage | Step, names: tuple[str, ...]
) -> list[SopChange]:
    out = []
    for name in names:
        va, vb = getattr(a, name), getattr(b, name)
        if va != vb:
            kind = f"{what}_renamed" if name == "name" else f"{what}_changed"
            out.append(
                SopChange(
                    kind,
                    ident,
                    f"{what} '{ident}' {name}: {va!r} → {vb!r}",
                    va,
                    vb,
                    {"field": name},
                )
            )
    return out


def _example_changes(sid: str, a: Step, b: Step) -> list[SopChange]:
    out = []
    gone = [e for e in a.examples if e not in set(b.examples)]
    came = [e for e in b.examples if e not in set(a.examples)]
    if gone:
        out.append(
            SopChange(
                "examples_removed", sid, f"step '{sid}': {len(gone)} example(s) removed", old=gone
            )
        )
    if came:
        out.append(
            SopChange(
                "examples_added", sid, f"step '{sid}': {len(came)} example(s) added", new=came
            )
        )
    return out


def _order_changes(what: str, old_ids: list[str], new_ids: list[str]) -> list[SopChange]:
    common = set(old_ids) & set(new_ids)
    a = [i for i in old_ids if i in common]
    b = [i for i in new_ids if i in common]
    if a == b:
        return []
    # The items outside the longest common ordering are the ones that moved.
    keep = set(longest_increasing_subsequence([a.index(i) for i in b], values=b))
    moved = [i for i in b if i not in keep]
    return [
        SopChange(
            f"{what}_order_changed",
            ",".join(moved),
            f"{what} order changed; moved: {', '.join(moved)}",
            a,
            b,
            {"moved": moved},
        )
    ]


def longest_increasing_subsequence(keys: Sequence[int], *, values: Sequence[Any]) -> list[Any]:
    """values[i] for one longest strictly increasing run of keys (O(n²); n is a few dozen)."""
    n = len(keys)
    if n == 0:
        return []
    best = [1] * n
    prev = [-1] * n
    for i in range(n):
        for j in range(i):
            if keys[j] < keys[i] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    i = max(range(n), key=lambda k: (best[k], -k))
    out = []
    while i != -1:
        out.append(values[i])
        i = prev[i]
    return out[::-1]
