"""CSV import: header mapping (English and Chinese), encodings, bad rows by line number, export."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.deals import importer
from app.deals.exceptions import CsvImportError
from app.deals.models import Deal
from app.users.models import Role
from tests.deals.conftest import FIXTURES
from tests.deals.helpers import user
from tests.factories import make_team, make_user


def _csv(rep_email: str) -> bytes:
    return (FIXTURES / "crm_export_en.csv").read_text(encoding="utf-8").replace("{rep}", rep_email).encode()


def test_bad_rows_are_reported_by_line_and_the_rest_imported(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    result = importer.import_csv(session=session, user=rep, data=_csv(rep.email), process_id=process)
    rejected = {r.line: r.reason for r in result.rejected}
    assert sorted(rejected) == [3, 4, 5, 7, 8]
    assert "negative" in rejected[3]
    assert "unknown stage 'discovery'" in rejected[4]
    assert "duplicate external id 'CRM-1' (first on line 2)" in rejected[5]
    assert "31.12.2026" in rejected[7] and "ghost@example.com" in rejected[8]
    assert result.imported == 3 and result.columns["Account Name"] == "account"
    dock = session.scalar(select(Deal).where(Deal.external_ref == "CRM-4"))
    assert (dock.stage_id, dock.amount, dock.source) == ("proposal", Decimal("500000.00"), "lead")
    lost = session.scalar(select(Deal).where(Deal.external_ref == "CRM-7"))
    assert lost.status == "lost"


def test_chinese_headers_in_gbk_from_excel_are_understood(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    text = f"商机编号,客户名称,金额,阶段,负责人,预计成交日期,来源\nZH-1,华科智能,\"￥1,500.50\",qualify,{rep.email},2026年11月3日,转介绍\n"
    result = importer.import_csv(session=session, user=rep, data=text.encode("gbk"), process_id=process)
    assert result.encoding == "gb18030" and result.imported == 1, result.rejected
    deal = session.scalar(select(Deal).where(Deal.external_ref == "ZH-1"))
    assert (deal.name, deal.amount, deal.source) == ("华科智能", Decimal("1500.50"), "referral")


def test_utf8_with_bom_is_read(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    data = "\ufeff客户名称,金额\n华科智能,100\n".encode("utf-8")
    result = importer.import_csv(session=session, user=rep, data=data, process_id=process)
    assert result.imported == 1 and result.columns == {"客户名称": "account", "金额": "amount"}


def test_a_missing_account_column_is_refused_naming_the_accepted_headers(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    with pytest.raises(CsvImportError, match="客户名称"):
        importer.import_csv(session=session, user=rep, data=b"Deal Name,Amount\nx,1\n", process_id=process)


def test_a_rep_cannot_import_deals_for_someone_else(session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = user(session, make_user(Role.rep, team_id=team).id)
    other = make_user(Role.rep, team_id=team)
    data = f"Account,Owner\nAcme,{other.email}\n".encode()
    result = importer.import_csv(session=session, user=rep, data=data, process_id=process)
    assert result.imported == 0 and "their own deals" in result.rejected[0].reason


def test_each_batch_is_all_or_nothing(session, process, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    real = importer._create
    calls = {"n": 0}

    def flaky(**kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise CsvImportError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(importer, "_create", flaky)
    data = "Account\n" + "".join(f"A{i}\n" for i in range(6))
    result = importer.import_csv(session=session, user=rep, data=data.encode(), process_id=process, batch_size=3)
    assert result.imported == 3 and [r.line for r in result.rejected] == [5, 6, 7]
    assert session.scalar(select(func.count()).select_from(Deal)) == 3


def test_api_import_then_export_round_trips(client, process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = client.post(f"/api/v1/deals/import?process_id={process}", headers=rep.headers,
                           files={"file": ("deals.csv", _csv(rep.email))})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["imported"] == 3 and [r["line"] for r in report["rejected"]] == [3, 4, 5, 7, 8]
    exported = client.get("/api/v1/deals/export?headers=zh", headers=rep.headers)
    text = exported.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("商机编号,商机名称,客户名称") and "CRM-4" in text
    assert '"Dock doors, phase 2"' in text and "500000.00" in text


def test_utf8_without_bom_is_not_mistaken_for_gbk(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    data = "商机编号,客户名称,金额\nU-1,苏州恒通精密机械有限公司,50万\n".encode()
    result = importer.import_csv(session=session, user=rep, data=data, process_id=process)
    assert result.encoding == "utf-8" and result.imported == 1, result.rejected
    deal = session.scalar(select(Deal).where(Deal.external_ref == "U-1"))
    assert (deal.name, deal.amount) == ("苏州恒通精密机械有限公司", Decimal("500000.00"))


def test_a_file_in_another_encoding_is_refused_saying_how_to_save_it(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    utf16 = "客户名称,金额\n华科智能,100\n".encode("utf-16")  # Excel's "Unicode Text"
    with pytest.raises(CsvImportError, match="save it as CSV UTF-8"):
        importer.import_csv(session=session, user=rep, data=utf16, process_id=process)
    assert session.scalar(select(func.count()).select_from(Deal)) == 0


def test_reimporting_a_file_rejects_every_known_external_id_and_adds_nothing(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    first = importer.import_csv(session=session, user=rep, data=_csv(rep.email), process_id=process)
    again = importer.import_csv(session=session, user=rep, data=_csv(rep.email), process_id=process)
    assert first.imported == 3 and again.imported == 0
    assert "external id 'CRM-4' already exists" in {r.line: r.reason for r in again.rejected}[6]
    assert session.scalar(select(func.count()).select_from(Deal)) == 3
