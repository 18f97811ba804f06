"""Who sees and changes deals: reps their own, managers their teams, admins all; other teams get 404."""

from __future__ import annotations

from app.users.models import Role
from tests.factories import make_team, make_user


def _deal(client, rep, process) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/deals", headers=rep.headers,
                           json={"name": "x", "account_name": "Acme", "process_id": process})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_rep_sees_only_their_own_deals(client, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    alice, bob = make_user(Role.rep, team_id=team), make_user(Role.rep, team_id=team)
    deal_id = _deal(client, alice, process)
    assert client.get(f"/api/v1/deals/{deal_id}", headers=bob.headers).status_code == 404
    assert client.get("/api/v1/deals", headers=bob.headers).json()["total"] == 0


def test_a_manager_sees_their_team_and_another_team_gets_404(client, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    deal_id = _deal(client, rep, process)
    manager = make_user(Role.manager, team_id=team)
    stranger = make_user(Role.manager, team_id=make_team("Team B"))
    assert client.get(f"/api/v1/deals/{deal_id}", headers=manager.headers).status_code == 200
    assert client.get(f"/api/v1/deals/{deal_id}", headers=stranger.headers).status_code == 404
    assert client.post(f"/api/v1/deals/{deal_id}/close", headers=stranger.headers,
                       json={"status": "lost", "reason": "x"}).status_code == 404


def test_an_admin_sees_every_deal(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal_id = _deal(client, rep, process)
    admin = make_user(Role.admin)
    assert client.get(f"/api/v1/deals/{deal_id}", headers=admin.headers).status_code == 200


def test_a_trainer_reads_team_deals_but_cannot_change_them(client, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep, trainer = make_user(Role.rep, team_id=team), make_user(Role.trainer, team_id=team)
    deal_id = _deal(client, rep, process)
    assert client.get(f"/api/v1/deals/{deal_id}", headers=trainer.headers).status_code == 200
    response = client.patch(f"/api/v1/deals/{deal_id}", headers=trainer.headers, json={"name": "mine"})
    assert response.status_code == 403


def test_pipeline_of_another_team_is_404(client, process) -> None:  # type: ignore[no-untyped-def]
    manager = make_user(Role.manager, team_id=make_team())
    other = make_team("Team B")
    response = client.get(f"/api/v1/pipeline/funnel?process_id={process}&team_id={other}", headers=manager.headers)
    assert response.status_code == 404


def test_a_rep_cannot_read_another_reps_follow_ups(client, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    alice, bob = make_user(Role.rep, team_id=team), make_user(Role.rep, team_id=team)
    assert client.get(f"/api/v1/followups/review?rep_id={bob.id}", headers=alice.headers).status_code == 403
    assert client.get("/api/v1/followups/review", headers=alice.headers).status_code == 200


def test_accounts_of_another_team_are_404(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    account = client.post("/api/v1/accounts", headers=rep.headers, json={"name": "Acme"}).json()
    stranger = make_user(Role.rep, team_id=make_team("Team B"))
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=stranger.headers).status_code == 404
