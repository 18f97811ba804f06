"""Server-rendered pages: login, calls, the call page (timeline), SOPs, library, pipeline.

Pages are kept out of the OpenAPI schema: they answer a browser (303 to /login, HTML errors),
not an API client. They call the same services with the same permission checks as the API.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from starlette.datastructures import UploadFile

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import service as calls_service
from app.calls.models import CallStatus, SourceKind
from app.config import get_settings
from app.db import utcnow
from app.deps import COACH_ROLES, SESSION_COOKIE, SessionDep
from app.errors import AppError, Forbidden, NotFound, Unprocessable
from app.sop import review
from app.sop import service as sop_service
from app.sop.loader import SopValidationError
from app.sop.models import CallSopResult
from app.users import service as users_service
from app.users.models import Role, User
from app.web import call_view, charts, pages

HERE = Path(__file__).resolve().parent
# autoescape=True for every template: all user text (titles, transcripts, names) is escaped;
# the one deliberate exception is the search highlight, marked safe in library.html.
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                   lstrip_blocks=True)
_env.filters.update(mmss=charts.mmss, pct=pages.pct, num=pages.num, when=pages.when)
templates = Jinja2Templates(env=_env)

STATIC = {"web.css": "text/css; charset=utf-8", "call.js": "text/javascript; charset=utf-8"}
AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "ogg": "audio/ogg",
               "opus": "audio/ogg", "flac": "audio/flac", "webm": "audio/webm"}
PAGE_SIZE = 25


class LoginRequired(Exception):
    """Raised by the page dependency; the page route answers it with 303 → /login."""


class PageRoute(APIRoute):
    """Turns 'not signed in' into a redirect and application errors into an HTML error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            except AppError as exc:
                return render(request, "error.html", {"status": exc.status_code, "message": exc.message},
                              status=exc.status_code)

        return handler


router = APIRouter(include_in_schema=False, route_class=PageRoute)


def page_user(request: Request, session: SessionDep) -> User:
    """The signed-in user from the session cookie; otherwise the page redirects to /login."""
    secret = request.cookies.get(SESSION_COOKIE)
    user = users_service.resolve_token(session=session, secret=secret) if secret else None
    if user is None:
        raise LoginRequired
    request.state.user_id = user.id
    request.state.page_user = user
    return user


PageUser = Annotated[User, Depends(page_user)]


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    context = {"user": getattr(request.state, "page_user", None), "path": request.url.path, **context}
    return templates.TemplateResponse(request, name, context, status_code=status)


# ---------------------------------------------------------------- sign in / out


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"next": pages.safe_next(next), "error": None, "email": ""})


@router.post("/login")
def login(request: Request, session: SessionDep, email: Annotated[str, Form(max_length=254)],
          password: Annotated[str, Form(max_length=1024)], next: Annotated[str, Form(max_length=2000)] = "/"
          ) -> Response:
    """Check the password, set the session cookie exactly as the API login does, go to `next`."""
    ip = request.client.host if request.client else ""
    try:
        user = users_service.authenticate(session=session, email=email, password=password, ip=ip)
    except AppError as exc:
        # The form again with the reason (the service has already counted a failed attempt).
        return render(request, "login.html", {"next": pages.safe_next(next), "error": exc.message, "email": email},
                      status=exc.status_code)
    settings = get_settings()
    _token, secret = users_service.issue_token(session=session, user=user, kind="session", name="web",
                                               expires_at=utcnow() + timedelta(hours=settings.session_ttl_hours))
    response = RedirectResponse(pages.safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, max_age=settings.session_ttl_hours * 3600, httponly=True,
                        samesite="lax", secure=settings.environment == "production")
    return response


@router.post("/logout")  # POST only: a link or image on another site must not sign anyone out
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        users_service.revoke_secret(session=session, secret=secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/static/web/{name}")
def static(name: str) -> FileResponse:
    """The page's own CSS and JS (a fixed list: nothing else under the folder is served)."""
    if name not in STATIC:
        raise NotFound(f"No static file {name!r}.")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name])


# ---------------------------------------------------------------- calls


@router.get("/")
def calls_page(request: Request, session: SessionDep, user: PageUser, page: int = 1, status: str = "",
               language: str = "") -> HTMLResponse:
    """The calls the user may see, newest first, with status and adherence."""
    page = min(max(page, 1), 1_000_000)
    status_ok = status if status in set(CallStatus) else None
    language_ok = language.strip()[:8] or None
    items, total = calls_service.list_calls(session=session, user=user, offset=(page - 1) * PAGE_SIZE,
                                            limit=PAGE_SIZE, status=status_ok, language=language_ok)
    teams = {t.id: t.name for t in users_service.list_teams(session=session)}
    query = {k: v for k, v in (("status", status_ok or ""), ("language", language_ok or "")) if v}
    return render(request, "calls.html", {
        "calls": items, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "teams": teams,
        "adherence": _adherence(session, [c.id for c in items]), "statuses": list(CallStatus),
        "status": status_ok or "", "language": language_ok or "", "query": urlencode(query),
    })


def _adherence(session: SessionDep, call_ids: list[int]) -> dict[int, float]:
    # One query for the page's scores (only the number, not each call's whole stored match).
    rows = session.execute(select(CallSopResult.call_id, CallSopResult.adherence)
                           .where(CallSopResult.call_id.in_(call_ids))).all()
    return {call_id: score for call_id, score in rows}


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: int, session: SessionDep, user: PageUser, relearn: bool = False) -> HTMLResponse:
    """Timeline, SOP adherence, metrics and transcript of one call (404 when not visible)."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    audit_service.record(session=session, actor=user, action=AuditAction.call_view, target_type="call",
                         target_id=call.id)
    teams = {t.id: t.name for t in users_service.list_teams(session=session)}
    context = call_view.build(session=session, call=call)
    # Coaches may correct the SOP labels (the page calls PUT /api/v1/calls/{id}/sop/review).
    can_review = user.role in COACH_ROLES and context["sop"] is not None
    return render(request, "call.html", {**context, "team": teams.get(call.team_id or -1), "can_review": can_review,
                                         "relearn": relearn and can_review, "unsure_below": review.UNSURE_BELOW})


@router.get("/calls/{call_id}/media")
def call_media(call_id: int, session: SessionDep, user: PageUser) -> FileResponse:
    """The recording for the page's player; Range requests are answered by FileResponse."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    if call.source_kind != SourceKind.audio:
        raise NotFound(f"Call {call.id} was uploaded as a transcript; it has no recording.")
    path = pages.playable(call)
    media_type = "audio/wav" if path.suffix == ".wav" and call.redacted_audio_spans else \
        AUDIO_TYPES.get(call.source_format.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, content_disposition_type="inline",
                        filename=f"call-{call.id}{path.suffix}")


# ---------------------------------------------------------------- SOPs


@router.get("/sops")
def sops_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    """Every SOP with its size and how the user's visible calls adhere to it (admins: upload)."""
    return render(request, "sops.html", pages.sops(session=session, user=user))


@router.post("/sops/upload", response_model=None)
async def sop_upload(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Admins: upload a SOP file; a changed file becomes a new version (its calls are re-matched).
    Problems are listed on the page with their line and field, and nothing is stored."""
    if user.role != Role.admin:
        raise Forbidden("Only admins can upload SOPs.")
    form = await request.form()
    upload = form.get("file")
    name = (getattr(upload, "filename", None) or "upload.yaml")[:200]
    try:
        if not isinstance(upload, UploadFile):
            raise Unprocessable("Choose a SOP YAML file to upload.")
        text = sop_service.sop_text(await upload.read(sop_service.MAX_SOP_BYTES + 1))
        row, created = sop_service.publish(session=session, text=text, source=name, user=user)
    except SopValidationError as exc:
        problems = [str(issue) for issue in exc.issues]
        return render(request, "sops.html", {**pages.sops(session=session, user=user), "upload_problems": problems,
                                             "upload_name": name}, status=422)
    except AppError as exc:
        return render(request, "sops.html", {**pages.sops(session=session, user=user),
                                             "upload_problems": [exc.message], "upload_name": name},
                      status=exc.status_code)
    outcome = "new" if created else "same"
    return RedirectResponse(f"/sops/{quote(row.sop_id)}?uploaded={outcome}", status_code=303)


@router.get("/sops/{sop_id}/yaml")
def sop_yaml(sop_id: str, session: SessionDep, user: PageUser, version: int | None = None) -> Response:
    """The SOP file as uploaded, to edit and upload again."""
    row = sop_service.get_version(session=session, sop_id=sop_id[:100], version=version)
    return Response(row.source_text, media_type="application/yaml; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{row.sop_id}.v{row.version}.yaml"'})


@router.get("/sops/{sop_id}")
def sop_page(request: Request, sop_id: str, session: SessionDep, user: PageUser, version: int | None = None,
             rematch: str = "", uploaded: str = "") -> HTMLResponse:
    """The prescribed path of one SOP version, steps missed in recent calls, learning and history."""
    context = pages.sop_detail(session=session, user=user, sop_id=sop_id[:100], version=version)
    return render(request, "sop.html", {**context, "rematch_queued": rematch == "queued", "uploaded": uploaded})


@router.post("/sops/{sop_id}/rematch")
def sop_rematch(sop_id: str, session: SessionDep, user: PageUser) -> RedirectResponse:
    """Coaches: re-match every call of the SOP now (the page's button; same as the API's POST)."""
    if user.role not in COACH_ROLES:
        raise Forbidden("Only managers, trainers and admins can re-match a SOP's calls.")
    row = sop_service.request_rematch(session=session, sop_id=sop_id[:100], user=user)
    return RedirectResponse(f"/sops/{quote(row.sop_id)}?rematch=queued", status_code=303)


# ---------------------------------------------------------------- library and pipeline


@router.get("/library")
def library_page(request: Request, session: SessionDep, user: PageUser, q: str = "", type: str = "",
                 step: str = "", language: str = "", page: int = 1) -> HTMLResponse:
    """Search the clip, snippet and talk-track library; talk tracks per step, variants ranked."""
    return render(request, "library.html", pages.library(session=session, q=q, kind=type, step=step,
                                                         language=language, page=page))


@router.get("/pipeline")
def pipeline_page(request: Request, session: SessionDep, user: PageUser, process_id: str = "",
                  period: str = "", team_id: str = "") -> HTMLResponse:
    """Funnel with sales holes, stage conversion and the weighted forecast, within what the user may see."""
    return render(request, "pipeline.html", pages.pipeline(session=session, user=user, process_id=process_id,
                                                           period=period, team_id=team_id))
