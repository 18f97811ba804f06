"""CSV import and export of deals. Headers of the usual CRM exports are accepted in English and
Chinese (see COLUMN_ALIASES); every rejected row is reported with its line number and reason;
accepted rows are written in batches, each batch in its own savepoint (all of it or none)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.db import aware, utcnow
from app.deals import process as process_service
from app.deals import service as deals_service
from app.deals import stage_summary
from app.deals.exceptions import CsvImportError, NotAllowed
from app.deals.models import Account, Deal, DealSource, DealStatus, EventKind
from app.deals.schemas import DealCreate
from app.errors import AppError
from app.users import service as users_service
from app.users.models import Role, Team, TeamRelation, User

# Field → accepted headers (compared case-insensitively, spaces/underscores/hyphens ignored).
COLUMN_ALIASES: dict[str, list[str]] = {
    "external_ref": ["external_ref", "deal id", "opportunity id", "external id", "crm id", "商机编号", "商机id", "编号"],
    "name": ["name", "deal name", "opportunity name", "deal", "商机名称", "项目名称", "商机"],
    "account": ["account", "account name", "company", "company name", "customer", "客户名称", "客户", "公司名称"],
    "amount": ["amount", "deal amount", "value", "deal value", "金额", "预计金额", "合同金额", "商机金额"],
    "currency": ["currency", "币种", "货币"],
    "stage": ["stage", "stage_id", "deal stage", "sales stage", "阶段", "销售阶段", "商机阶段"],
    "owner": ["owner", "owner email", "owner_email", "deal owner", "sales rep", "负责人", "销售", "负责人邮箱", "销售代表"],
    "team": ["team", "sales team", "团队", "销售团队"],
    "process": ["process", "process_id", "pipeline", "sales process", "销售流程", "流程"],
    "expected_close_date": ["expected_close_date", "close date", "expected close date", "预计成交日期", "预计签约日期", "预计结单日期"],
    "status": ["status", "deal status", "状态", "商机状态"],
    "close_reason": ["close_reason", "lost reason", "reason", "丢单原因", "原因", "输单原因"],
    "source": ["source", "lead source", "deal source", "来源", "商机来源"],
    "opened_at": ["opened_at", "created", "created date", "create date", "创建日期", "创建时间"],
}
REQUIRED = ("account",)
ZH_EXPORT = {"external_ref": "商机编号", "name": "商机名称", "account": "客户名称", "owner": "负责人", "team": "团队",
             "process": "销售流程", "stage": "阶段", "amount": "金额", "currency": "币种",
             "expected_close_date": "预计成交日期", "status": "状态", "close_reason": "原因", "source": "来源",
             "opened_at": "创建日期"}
STATUS_WORDS = {"open": DealStatus.open, "进行中": DealStatus.open, "跟进中": DealStatus.open, "won": DealStatus.won,
                "赢单": DealStatus.won, "成交": DealStatus.won, "lost": DealStatus.lost, "输单": DealStatus.lost,
                "丢单": DealStatus.lost, "invalid": DealStatus.invalid, "无效": DealStatus.invalid}
SOURCE_WORDS = {"lead": DealSource.lead, "converted lead": DealSource.lead, "线索转化": DealSource.lead,
                "线索": DealSource.lead, "referral": DealSource.referral, "转介绍": DealSource.referral,
                "inbound": DealSource.inbound, "主动咨询": DealSource.inbound, "来电": DealSource.inbound,
                "other": DealSource.other, "其他": DealSource.other}
BATCH_SIZE = 500


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lower()).strip()


_LOOKUP = {_key(alias): name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportResult:
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    encoding: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    batches: int = 0
    deal_ids: list[int] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK from Chinese Excel)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    raise CsvImportError("The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8 and retry.")


def map_columns(headers: list[str]) -> dict[str, str]:
    """CSV header → field; a missing required column is a 422 naming the accepted headers."""
    mapping: dict[str, str] = {}
    for header in headers:
        name = _LOOKUP.get(_key(header))
        if name and name not in mapping.values():
            mapping[header] = name
    missing = [f for f in REQUIRED if f not in mapping.values()]
    if missing:
        raise CsvImportError(
            f"Missing column(s): {', '.join(missing)}. Accepted headers: "
            + "; ".join(f"{f}: {', '.join(COLUMN_ALIASES[f])}" for f in missing)
            + f". Found: {', '.join(headers) or '(no header row)'}.")
    return mapping


def import_csv(*, session: Session, user: User, data: bytes, process_id: str | None = None,
               batch_size: int = BATCH_SIZE, now: datetime | None = None) -> ImportResult:
    """Validate every row, report bad rows by line, write the good ones in batches."""
    now = now or utcnow()
    if user.role == Role.trainer:
        raise NotAllowed("Trainers read deals but do not import them.")
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    headers = next(reader, None)
    if headers is None:
        raise CsvImportError("The file is empty; expected a header row and one deal per line.")
    mapping = map_columns(headers)
    result = ImportResult(encoding=encoding, columns=mapping)
    accepted: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    start = reader.line_num + 1
    for raw in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in raw):
            continue
        record = {mapping[h]: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(headers) if h in mapping}
        try:
            row = _parse_row(session=session, user=user, record=record, process_id=process_id, now=now)
            _check_duplicate(session=session, ref=row.get("external_ref"), line=line, seen=seen)
            accepted.append((line, row))
        except AppError as exc:
            result.rejected.append(Rejection(line, exc.message))
    for index in range(0, len(accepted), batch_size):
        _write_batch(session=session, user=user, batch=accepted[index:index + batch_size], result=result, now=now)
    result.rejected.sort(key=lambda r: r.line)
    return result


def _check_duplicate(*, session: Session, ref: str | None, line: int, seen: dict[str, int]) -> None:
    if not ref:
        return
    if ref in seen:
        raise CsvImportError(f"duplicate external id {ref!r} (first on line {seen[ref]})")
    if session.scalar(select(Deal.id).where(Deal.external_ref == ref)):
        raise CsvImportError(f"external id {ref!r} already exists; it was imported before")
    seen[ref] = line


def _parse_row(*, session: Session, user: User, record: dict[str, str], process_id: str | None,
               now: datetime) -> dict[str, Any]:
    if not record.get("account"):
        raise CsvImportError("account is empty")
    process_name = record.get("process") or process_id
    if not process_name:
        raise CsvImportError("no sales process: add a process column or pass process_id / --process")
    process, _ = process_service.get_process(session=session, process_id=process_name)
    stage = process.stages[0]
    if record.get("stage"):
        found = process_service.match_stage(process, record["stage"])
        if found is None:
            raise CsvImportError(f"unknown stage {record['stage']!r} for process {process.id!r} "
                                 f"(stages: {', '.join(s.id for s in process.stages)})")
        stage = found
    owner = _owner(session=session, user=user, text=record.get("owner", ""))
    return {
        "external_ref": record.get("external_ref") or None, "name": record.get("name") or record["account"],
        "account": record["account"], "process_id": process.id, "stage_id": stage.id, "owner": owner,
        "team_id": _team(session=session, user=user, owner=owner, text=record.get("team", "")),
        "amount": parse_amount(record.get("amount", "")), "currency": _currency(record.get("currency", "")),
        "expected_close_date": parse_date(record.get("expected_close_date", ""), "expected_close_date"),
        "status": _word(record.get("status", ""), STATUS_WORDS, "status", DealStatus.open),
        "close_reason": record.get("close_reason") or None,
        "source": _word(record.get("source", ""), SOURCE_WORDS, "source", DealSource.other),
        "opened_at": _as_datetime(parse_date(record.get("opened_at", ""), "opened_at")) or now,
    }


def _owner(*, session: Session, user: User, text: str) -> User:
    if not text:
        return user
    if "@" in text:
        owner = users_service.get_user_by_email(session=session, email=text)
    else:
        named = session.scalars(select(User).where(User.name == text).limit(2)).all()
        if len(named) > 1:
            raise CsvImportError(f"owner name {text!r} is ambiguous; use the rep's e-mail")
        owner = named[0] if named else None
    if owner is None:
        raise CsvImportError(f"unknown owner {text!r}: use the rep's e-mail (create the user first)")
    if user.role == Role.rep and owner.id != user.id:
        raise CsvImportError(f"a rep imports only their own deals; owner {text!r} is someone else")
    return owner


def _team(*, session: Session, user: User, owner: User, text: str) -> int | None:
    if text:
        team = session.scalar(select(Team).where(Team.name == text))
        if team is None:
            raise CsvImportError(f"unknown team {text!r}")
        team_id: int | None = team.id
    else:
        member = sorted(owner.team_ids(TeamRelation.member))
        team_id = member[0] if member else None
    if user.role == Role.manager and team_id not in user.team_ids(TeamRelation.manager):
        raise CsvImportError("the deal's team is not one you lead")
    if user.role == Role.rep and team_id is not None and team_id not in user.team_ids():
        raise CsvImportError(f"team {text!r} is not one of your teams")
    return team_id


def parse_amount(text: str) -> Decimal:
    """'1,234.50', '¥500,000', '50万' (×10,000) → Decimal; negative or garbage is refused."""
    cleaned = re.sub(r"[\s,，¥￥$€£]|CNY|RMB|USD|元", "", text or "", flags=re.IGNORECASE)
    factor = Decimal(1)
    if cleaned.endswith("万"):
        cleaned, factor = cleaned[:-1], Decimal(10_000)
    if not cleaned:
        return Decimal(0)
    try:
        value = Decimal(cleaned) * factor
    except InvalidOperation:
        raise CsvImportError(f"amount {text!r} is not a number") from None
    if value < 0:
        raise CsvImportError(f"amount {text!r} is negative")
    return value.quantize(Decimal("0.01"))


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")


def parse_date(text: str, name: str) -> date | None:
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CsvImportError(f"{name} {text!r} is not a date; use YYYY-MM-DD (or 2026/11/30, 2026年11月30日)")


def _as_datetime(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _currency(text: str) -> str:
    text = {"人民币": "CNY", "RMB": "CNY", "美元": "USD"}.get(text.strip().upper() or text.strip(), text.strip().upper())
    if text and not re.fullmatch(r"[A-Z]{3}", text):
        raise CsvImportError(f"currency {text!r} is not a 3-letter code (CNY, USD, EUR…)")
    return text or "CNY"


def _word(text: str, words: dict[str, Any], name: str, default: Any) -> Any:
    if not text:
        return default
    value = words.get(text.strip().lower())
    if value is None:
        raise CsvImportError(f"{name} {text!r} is not one of: {', '.join(sorted(set(words)))}")
    return value


def _write_batch(*, session: Session, user: User, batch: list[tuple[int, dict[str, Any]]],
                 result: ImportResult, now: datetime) -> None:
    result.batches += 1
    try:
        with session.begin_nested():
            ids = [_create(session=session, user=user, row=row, now=now) for _line, row in batch]
    except (AppError, SQLAlchemyError) as exc:
        reason = exc.message if isinstance(exc, AppError) else type(exc).__name__
        result.rejected += [Rejection(line, f"batch {result.batches} rolled back: {reason}") for line, _ in batch]
        return
    result.imported += len(ids)
    result.deal_ids += ids


def _create(*, session: Session, user: User, row: dict[str, Any], now: datetime) -> int:
    owner: User = row["owner"]
    account = deals_service.find_or_create_account(session=session, user=owner, name=row["account"], team_id=row["team_id"])
    deal_in = DealCreate(name=row["name"][:200], account_id=account.id, process_id=row["process_id"],
                         external_ref=row["external_ref"], amount=row["amount"], currency=row["currency"],
                         expected_close_date=row["expected_close_date"], source=row["source"])
    deal = _create_as(session=session, user=user, owner=owner, team_id=row["team_id"], deal_in=deal_in, at=row["opened_at"])
    event = deals_service.history(session=session, deal=deal)[0]
    event.to_stage, event.reason = row["stage_id"], f"imported from CSV at stage {row['stage_id']}"
    deal.stage_id = row["stage_id"]
    session.flush()
    stage_summary.rebuild(session=session, deal=deal)  # the created event now enters the CSV's stage
    if row["status"] != DealStatus.open:
        deal.status, deal.close_reason, deal.closed_at = row["status"], row["close_reason"], now
        deals_service.record_event(session=session, deal=deal, kind=EventKind(row["status"]), from_stage=deal.stage_id,
                                   to_stage=None, by=user, at=now, reason=row["close_reason"] or "imported closed")
    session.flush()
    return deal.id


def _create_as(*, session: Session, user: User, owner: User, team_id: int | None, deal_in: DealCreate,
               at: datetime) -> Deal:
    deal_in = deal_in.model_copy(update={"owner_id": owner.id, "team_id": team_id})
    return deals_service.create_deal(session=session, user=user, deal_in=deal_in, now=at)


def export_csv(*, session: Session, user: User, headers: str = "en", **filters: Any) -> str:
    """Visible deals as CSV with headers the importer reads back ("en" field names or "zh")."""
    fields = list(ZH_EXPORT)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([ZH_EXPORT[f] if headers == "zh" else f for f in fields])
    conditions = [deals_service.visible_filter(user)] + [getattr(Deal, k) == v for k, v in filters.items() if v is not None]
    rows = session.execute(select(Deal, Account.name, User.email).join(Account, Account.id == Deal.account_id)
                           .join(User, User.id == Deal.owner_id).where(*conditions).order_by(Deal.id)).all()
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    for deal, account_name, owner_email in rows:
        writer.writerow([deal.external_ref or "", deal.name, account_name, owner_email, teams.get(deal.team_id, ""),
                         deal.process_id, deal.stage_id, f"{deal.amount:.2f}", deal.currency,
                         deal.expected_close_date.isoformat() if deal.expected_close_date else "", deal.status,
                         deal.close_reason or "", deal.source, aware(deal.opened_at).date().isoformat()])
    return out.getvalue()
