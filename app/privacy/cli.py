"""`talktrack retention run [--dry-run]`: delete calls past their team's retention (cron it daily)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

retention_app = typer.Typer(help="Retention: delete calls older than each team's retention.", no_args_is_help=True)
console = Console()


@retention_app.callback()
def _group() -> None:
    """Retention commands."""


@retention_app.command("run")
def run_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be deleted; delete nothing")] = False,
) -> None:
    """Delete every call older than its team's retention_days (with media, transcript, embeddings, index)."""
    from app.db import init_db, session_scope
    from app.privacy import retention

    init_db()
    with session_scope() as session:
        result = retention.run(session=session, dry_run=dry_run)
    table = Table(title="Would delete" if dry_run else "Deleted")
    for column in ("call", "team", "occurred", "age (days)", "retention (days)"):
        table.add_column(column)
    for e in result.expired:
        occurred = (e.occurred_at or e.created_at).date().isoformat()
        table.add_row(str(e.call_id), e.team_name, occurred, str(e.age_days), str(e.retention_days))
    console.print(table)
    verb = "would be deleted" if dry_run else "deleted"
    console.print(f"{len(result.expired) if dry_run else result.deleted} call(s) {verb}.")
