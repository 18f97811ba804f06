"""The embedded demo: users for every role, the shipped SOPs, the demo corpus processed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from app import ingest
from app.db import init_db, session_scope
from app.users import service as users_service
from app.users.models import Role, TeamRelation
from app.users.schemas import MembershipIn, TeamCreate, UserCreate

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo_data"
DEMO_PASSWORD = "talktrack-demo"
ADMIN_EMAIL = "admin@talktrack.local"


def load_demo(console: Console, demo_dir: Path = DEMO_DIR) -> None:
    """Idempotent: re-running adds nothing that is already there."""
    init_db()
    with session_scope() as session:
        from app.sop import service as sop_service

        saved = sop_service.sync_shipped(session=session)
        console.print(f"SOPs: {', '.join(f'{r.sop_id} v{r.version}' for r, _ in saved)}")
        logins = _people(session, json.loads((demo_dir / "people.json").read_text(encoding="utf-8")))
    # Deals first: the pipeline and the library read each call's outcome from its deal's history.
    _load_deals(demo_dir, console)
    # Only files with a sidecar are demo calls (scripts and ground truth live beside them).
    files = [p for p in ingest.collect([demo_dir]) if ingest.sidecar(p)]
    rows = ingest.upload_all(files, {}, ADMIN_EMAIL, console)
    ingest.wait_with_progress(rows, console)
    console.print(ingest.summary_table(rows))
    _build_library([r.call_id for r in rows if r.call_id is not None], console)
    _print_logins(console, logins)


def _people(session: Any, people: dict[str, Any]) -> list[tuple[str, str, str]]:
    logins = [_ensure_user(session, ADMIN_EMAIL, "Admin", Role.admin, [])]
    for team_spec in people["teams"]:
        team = users_service.get_team_by_name(session=session, name=team_spec["name"]) or users_service.create_team(
            session=session, team_in=TeamCreate(name=team_spec["name"], default_sop_id=team_spec.get("default_sop_id"))
        )
        for key, role, relation in (("manager", Role.manager, TeamRelation.manager),
                                    ("trainer", Role.trainer, TeamRelation.trainer)):
            if spec := team_spec.get(key):
                logins.append(_ensure_user(session, spec["email"], spec["name"], role, [(team.id, relation)]))
        for spec in team_spec.get("reps", []):
            logins.append(_ensure_user(session, spec["email"], spec["name"], Role.rep, [(team.id, TeamRelation.member)]))
    return logins


def _ensure_user(session: Any, email: str, name: str, role: Role, teams: list[tuple[int, TeamRelation]]) -> tuple[str, str, str]:
    user = users_service.get_user_by_email(session=session, email=email)
    if user is None:
        users_service.create_user(session=session, user_in=UserCreate(
            email=email, name=name, role=role, password=DEMO_PASSWORD,
            teams=[MembershipIn(team_id=t, relation=r) for t, r in teams],
        ))
    return role.value, email, name


def _build_library(call_ids: list[int], console: Console) -> None:
    """Cut every demo call's snippets and refresh the library once, so the first page is full.

    (The worker does the same through `library.update` jobs; this makes the demo independent
    of whether the worker got to them before it was stopped. Both are idempotent.)
    """
    from rich.progress import Progress

    from app.library import refresh

    with Progress(console=console) as progress:
        task = progress.add_task("building the clip and talk-track library", total=len(call_ids) + 1)
        for call_id in call_ids:
            with session_scope() as session:
                refresh.cut_call(session=session, call_id=call_id)
            progress.advance(task)
        report = refresh.refresh()
        progress.advance(task)
    console.print(f"library: auto clips {report.get('auto_clips')}, {report.get('talk_tracks')} talk tracks")


def _load_deals(demo_dir: Path, console: Console) -> None:
    """Demo deals with their stage histories, approvals, intents and targets (app.deals.demo)."""
    path = demo_dir / "deal_histories.json"
    if not path.exists():
        return
    from app.deals import demo as deals_demo

    with session_scope() as session:
        report = deals_demo.load(session=session, path=path)
    console.print(f"deals: {report.created} created with {report.steps} history steps, "
                  f"{report.existing} already present; targets for {report.targets} team periods")


def _print_logins(console: Console, logins: list[tuple[str, str, str]]) -> None:
    table = Table(title=f"Demo users (password for all: {DEMO_PASSWORD})")
    for column in ("role", "e-mail", "name"):
        table.add_column(column)
    seen = set()
    for role, email, name in logins:
        if email not in seen:
            seen.add(email)
            table.add_row(role, email, name)
    console.print(table)
    console.print("Log in: POST /api/v1/auth/login {\"email\": …, \"password\": …} or create a token with "
                  "`talktrack users token EMAIL`.")
