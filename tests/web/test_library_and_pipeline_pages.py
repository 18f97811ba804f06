"""The library page (search highlights, talk tracks) and the pipeline page (funnel, conversion, forecast)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from app.db import session_scope
from app.deals import analytics
from app.deals.schemas import TargetIn
from app.sop import service as sop_service
from app.users.models import Role
from tests.deals.helpers import new_deal, place, user
from tests.factories import make_team, make_user
from tests.web.helpers import log_in, matched_call

FIVE_STAGE = Path(__file__).resolve().parents[1] / "fixtures" / "deals" / "five-stage.en.yaml"


def test_library_page_shows_results_with_marks_and_talk_tracks(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = matched_call(client, rep)
    log_in(client, rep)
    page = client.get("/library", params={"q": "budget"})
    assert page.status_code == 200
    assert "<mark>budget</mark>" in page.text.lower()
    assert f'href="/calls/{call_id}#t=' in page.text
    assert "Talk tracks" in page.text and "#1" in page.text


def test_library_page_explains_a_bad_query_instead_of_failing(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    log_in(client, rep)
    page = client.get("/library", params={"q": "x" * 600})
    assert page.status_code == 200 and "at most 500" in page.text


def test_pipeline_page_renders_funnel_holes_conversion_and_forecast(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep_person = make_user(Role.rep, team_id=team)
    manager_person = make_user(Role.manager, team_id=team)
    with session_scope() as session:
        sop_service.save_sop(session=session, text=FIVE_STAGE.read_text(encoding="utf-8"), source="five.yaml")
        rep, manager = user(session, rep_person.id), user(session, manager_person.id)
        for stage_id, count in {"lead": 6, "qualify": 2, "proposal": 3}.items():
            for i in range(count):
                place(session, new_deal(session, rep, name=f"{stage_id}{i}", amount="100000"), stage_id)
        analytics.set_target(session=session, user=manager,
                             target_in=TargetIn(team_id=team, period="2027-Q1", value=Decimal(400000)))
    log_in(client, manager_person)
    page = client.get("/pipeline", params={"period": "2026-Q4", "team_id": team})
    assert page.status_code == 200, page.text
    assert '<svg class="hchart funnel"' in page.text and "sales hole" in page.text
    assert '<svg class="hchart conversion"' in page.text
    assert "Weighted forecast" in page.text and "weighted = " in page.text


def test_a_rep_sees_only_their_own_deals_on_the_pipeline_page(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    mine, theirs = make_user(Role.rep, team_id=team), make_user(Role.rep, team_id=team)
    with session_scope() as session:
        sop_service.save_sop(session=session, text=FIVE_STAGE.read_text(encoding="utf-8"), source="five.yaml")
        for person, count in ((mine, 2), (theirs, 5)):
            for i in range(count):
                new_deal(session, user(session, person.id), name=f"{person.id}-{i}", amount="1000")
    log_in(client, mine)
    page = client.get("/pipeline")
    assert page.status_code == 200
    assert "2 deals · 2,000" in page.text and "7 deals" not in page.text
