"""`talktrack deals import|export` and `talktrack pipeline funnel|forecast|conversion|velocity`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import session_scope
from app.deals import analytics, importer
from app.deals.render import plain
from app.errors import AppError
from app.users import service as users_service
from app.users.models import Role, Team, User

deals_app = typer.Typer(help="Deals: import from and export to CSV.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Pipeline analytics: funnel, forecast, conversion, velocity.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

AsOpt = Annotated[str | None, typer.Option("--as", help="act as this user's e-mail (default: the first admin)")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="team name or id")]
RepOpt = Annotated[str | None, typer.Option("--rep", help="rep e-mail")]
ProcessOpt = Annotated[str | None, typer.Option("--process", help="sales process id")]
PeriodOpt = Annotated[str | None, typer.Option("--period", help="2026, 2026-Q4, 2026-11 or 2026-W45")]
FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def _acting(session: Session, email: str | None) -> User:
    if email:
        user = users_service.get_user_by_email(session=session, email=email)
        if user is None:
            _fail(f"no user with e-mail {email}; create it with `talktrack users create`")
        return user  # type: ignore[return-value]
    admin = session.scalar(select(User).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id))
    if admin is None:
        _fail("no admin user exists; pass --as EMAIL or create an admin first")
    return admin  # type: ignore[return-value]


@deals_app.command("import")
def import_deals(
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8 with or without BOM, or GBK)")],
    as_: AsOpt = None,
    process: ProcessOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Import deals from a CRM CSV export; every rejected row is listed with its line number."""
    if not file.is_file():
        _fail(f"{file}: no such file")
    try:
        with session_scope() as session:
            user = _acting(session, as_)
            result = importer.import_csv(session=session, user=user, data=file.read_bytes(), process_id=process)
    except AppError as exc:
        _fail(exc.message)
    if fmt == "json":
        typer.echo(json.dumps(plain(result), ensure_ascii=False, indent=2))
    else:
        console.print(f"[green]imported {result.imported}[/] deal(s) from {file} ({result.encoding}, "
                      f"{result.batches} batch(es)); columns: "
                      + ", ".join(f"{h}→{f}" for h, f in result.columns.items()))
        if result.rejected:
            table = Table("line", "reason", title=f"{len(result.rejected)} rejected row(s)")
            for rejection in result.rejected:
                table.add_row(str(rejection.line), rejection.reason)
            console.print(table)
    if result.rejected:
        raise typer.Exit(2)


@deals_app.command("export")
def export_deals(
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of stdout")] = None,
    headers: Annotated[str, typer.Option("--headers", help="en | zh")] = "en",
    as_: AsOpt = None,
) -> None:
    """Export the deals you may see as CSV (re-importable)."""
    if headers not in ("en", "zh"):
        _fail("--headers must be 'en' or 'zh'")
    with session_scope() as session:
        text = importer.export_csv(session=session, user=_acting(session, as_), headers=headers)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8-sig")
        console.print(f"wrote {text.count(chr(10)) - 1} deal(s) to {out}")


def _run(kind: str, as_: str | None, team: str | None, rep: str | None, process: str | None,
         period: str | None, fmt: str) -> None:
    if fmt not in ("table", "json"):
        _fail(f"--format must be 'table' or 'json', not {fmt!r}")
    try:
        with session_scope() as session:
            user = _acting(session, as_)
            scope = analytics.make_scope(session=session, user=user, process_id=process, period=period,
                                         team_id=_team_id(session, team), rep_id=_rep_id(session, rep))
            result = getattr(analytics, kind)(session=session, user=user, scope=scope)
    except AppError as exc:
        _fail(exc.message)
    if fmt == "json":
        typer.echo(json.dumps(plain(result), ensure_ascii=False, indent=2))
    else:
        PRINTERS[kind](result)


def _team_id(session: Session, team: str | None) -> int | None:
    if not team:
        return None
    row = session.get(Team, int(team)) if team.isdigit() else users_service.get_team_by_name(session=session, name=team)
    if row is None:
        _fail(f"no team {team!r}")
    return row.id  # type: ignore[union-attr]


def _rep_id(session: Session, rep: str | None) -> int | None:
    if not rep:
        return None
    user = users_service.get_user_by_email(session=session, email=rep)
    if user is None:
        _fail(f"no user with e-mail {rep}")
    return user.id  # type: ignore[union-attr]


def _print_funnel(result: analytics.Funnel) -> None:
    table = Table("stage", "deals", "amount", "p(win)", "needed", "flag",
                  title=f"Funnel · {result.process_id} · next period {result.next_period}: target {result.next_target or '-'}")
    for s in result.stages:
        flag = " ".join(f for f, on in (("HOLE", s.hole), ("widens", s.widens)) if on)
        table.add_row(s.name, str(s.deals), f"{s.amount:,}", f"{s.win_probability:.0%}",
                      "-" if s.needed_deals is None else str(s.needed_deals), f"[red]{flag}[/]" if flag else "")
    console.print(table)
    console.print(f"[dim]{result.formula}; average deal {result.average_deal or '-'}[/]")


def _print_forecast(result: analytics.Forecast) -> None:
    table = Table("stage", "currency", "deals", "amount", "p(win)", "weighted",
                  title=f"Forecast · {result.process_id} · {result.period or 'all open deals'}")
    for line in result.lines:
        table.add_row(line.stage_id, line.currency, str(line.deals), f"{line.amount:,}",
                      f"{line.win_probability:.0%}", f"{line.weighted:,}")
    console.print(table)
    for total in result.totals:
        console.print(f"[bold]{total.currency}[/] weighted {total.weighted:,} · won {total.won:,} · target "
                      f"{'-' if total.target is None else f'{total.target:,}'} · gap "
                      f"{'-' if total.gap is None else f'{total.gap:,}'}")
        console.print(f"[dim]{total.formula}[/]")


def _print_conversion(result: analytics.Conversion) -> None:
    table = Table("from", "to", "entered", "advanced", "rate", "", title=f"Stage conversion · {result.process_id}")
    for t in result.transitions:
        table.add_row(t.from_stage, t.to_stage, str(t.entered), str(t.advanced),
                      "-" if t.rate is None else f"{t.rate:.1%}", "[red]weakest[/]" if t.weakest else "")
    console.print(table)
    console.print(f"[dim]{result.formula}[/]")


def _print_velocity(result: analytics.Velocity) -> None:
    table = Table("stage", "p(win) configured", "observed", "won/lost", "avg days", "expected days",
                  title=f"Velocity · {result.process_id}")
    for s in result.stages:
        table.add_row(s.stage_id, f"{s.configured_win_probability:.0%}",
                      "-" if s.observed_win_rate is None else f"{s.observed_win_rate:.0%}", f"{s.won}/{s.lost}",
                      "-" if s.average_dwell_days is None else f"{s.average_dwell_days:.1f}",
                      "-" if s.expected_days is None else f"{s.expected_days:g}")
    console.print(table)
    cycle = "-" if result.average_cycle_days is None else f"{result.average_cycle_days:.1f} days"
    console.print(f"average sales cycle: {cycle} (n={result.cycle_sample}; {result.cycle_formula})")


PRINTERS: dict[str, Any] = {"funnel": _print_funnel, "forecast": _print_forecast,
                            "conversion": _print_conversion, "velocity": _print_velocity}


def _command(kind: str) -> None:
    def command(as_: AsOpt = None, team: TeamOpt = None, rep: RepOpt = None, process: ProcessOpt = None,
                period: PeriodOpt = None, fmt: FormatOpt = "table") -> None:
        _run(kind, as_, team, rep, process, period, fmt)

    command.__doc__ = {"funnel": "Open deals per stage with sales holes.",
                       "forecast": "Weighted forecast against the target.",
                       "conversion": "Stage conversion with the weakest transition.",
                       "velocity": "Win rate per stage, dwell time and sales cycle."}[kind]
    pipeline_app.command(kind)(command)


for _kind in PRINTERS:
    _command(_kind)
