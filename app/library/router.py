"""REST: /api/v1/library/search, /api/v1/clips, /api/v1/playlists, /api/v1/talk-tracks, /api/v1/snippets.

The library is shared across the organisation: any signed-in user reads it (see clips.py);
managers, trainers and admins curate it (clips, playlists).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import FileResponse, Response

from app.calls.models import Call, SourceKind
from app.deps import CoachUser, CurrentUser, PageDep, SessionDep, commits_in_route, json_response
from app.errors import Unprocessable
from app.library import clips as clips_service
from app.library import playlists as playlists_service
from app.library import query as query_service
from app.library import service as snippets_service
from app.library import talk_tracks as tracks_service
from app.library.models import Clip, Playlist, TrackKind
from app.library.schemas import (
    ClipCreate,
    ClipList,
    ClipRead,
    ClipUpdate,
    PlaylistBulkAdd,
    PlaylistCreate,
    PlaylistItemIn,
    PlaylistRead,
    PlaylistReorder,
    PlaylistUpdate,
    SearchResponse,
    SnippetList,
    SnippetRead,
    TalkTrackRead,
    VariantRead,
)

router = APIRouter(prefix="/api/v1", tags=["library"])

OUTCOMES = ("advanced", "won", "stalled", "lost")
SEARCH_PARAMS = {"q", "type", "step", "topic", "rep_id", "team_id", "language", "outcome", "date_from", "date_to",
                 "min_score", "max_score", "page", "page_size"}


def _reject_unknown(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise Unprocessable(f"Unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}.")


@router.get("/library/search", response_model=SearchResponse)
@commits_in_route
def search(
    request: Request, session: SessionDep, user: CurrentUser,
    q: Annotated[str, Query(description="words to look for, English or Chinese")] = "",
    type_: Annotated[list[str] | None, Query(alias="type", description="snippet | clip | talk_track")] = None,
    step: str | None = None, topic: str | None = None, rep_id: int | None = None, team_id: int | None = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    outcome: str | None = None, date_from: datetime | None = None, date_to: datetime | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    page: Annotated[int, Query(ge=1)] = 1, page_size: Annotated[int, Query(ge=1)] = 20,
) -> Response:
    """Hybrid keyword + semantic search over snippets, clips and talk tracks, with highlights."""
    _reject_unknown(request, SEARCH_PARAMS)
    if outcome is not None and outcome not in OUTCOMES:
        raise Unprocessable(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}.")
    filters = query_service.SearchFilters(
        types=tuple(type_) if type_ else ("snippet", "clip", "talk_track"), step=step, topic=topic, rep_id=rep_id,
        team_id=team_id, language=language, outcome=outcome, date_from=date_from, date_to=date_to,
        min_score=min_score, max_score=max_score,
    )
    found = query_service.run(session=session, query=q, filters=filters, page=page, page_size=page_size)
    return json_response(SearchResponse(query=q.strip(), items=found.items, page=found.page,
                                        page_size=found.page_size, has_more=found.has_more, index=found.index))


# ---- clips ------------------------------------------------------------------------------


def _clip_read(session: SessionDep, clip: Clip) -> ClipRead:
    call = session.get(Call, clip.call_id)
    has_audio = call is not None and call.source_kind == SourceKind.audio
    return ClipRead.model_validate(clip).model_copy(update={
        "audio_url": f"/api/v1/clips/{clip.id}/audio" if has_audio else None,
        "link": f"/calls/{clip.call_id}?t={int(clip.start)}",
    })


@router.post("/clips", status_code=status.HTTP_201_CREATED, response_model=ClipRead)
def create_clip(clip_in: ClipCreate, session: SessionDep, user: CoachUser) -> ClipRead:
    """Cut a clip from a call you can see (managers, trainers, admins)."""
    return _clip_read(session, clips_service.create_clip(session=session, user=user, clip_in=clip_in))


@router.get("/clips", response_model=ClipList)
def list_clips(
    request: Request, session: SessionDep, user: CurrentUser, page: PageDep, call_id: int | None = None,
    kind: str | None = None, folder: str | None = None, tag: str | None = None, step: str | None = None,
    team_id: int | None = None, rep_id: int | None = None, language: str | None = None,
) -> ClipList:
    _reject_unknown(request, {"page", "page_size", "call_id", "kind", "folder", "tag", "step", "team_id", "rep_id",
                              "language"})
    items, total = clips_service.list_clips(
        session=session, offset=page.offset, limit=page.page_size, call_id=call_id, kind=kind, folder=folder,
        tag=tag, step_id=step, team_id=team_id, rep_id=rep_id, language=language,
    )
    return ClipList(items=[_clip_read(session, c) for c in items], total=total, page=page.page,
                    page_size=page.page_size)


@router.get("/clips/{clip_id}", response_model=ClipRead)
def get_clip(clip_id: int, session: SessionDep, user: CurrentUser) -> ClipRead:
    return _clip_read(session, clips_service.get_clip(session=session, clip_id=clip_id))


@router.patch("/clips/{clip_id}", response_model=ClipRead)
def update_clip(clip_id: int, clip_in: ClipUpdate, session: SessionDep, user: CoachUser) -> ClipRead:
    clip = clips_service.get_clip(session=session, clip_id=clip_id)
    return _clip_read(session, clips_service.update_clip(session=session, clip=clip, clip_in=clip_in))


@router.delete("/clips/{clip_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_clip(clip_id: int, session: SessionDep, user: CoachUser) -> None:
    clips_service.delete_clip(session=session, clip=clips_service.get_clip(session=session, clip_id=clip_id))


@router.get("/clips/{clip_id}/audio", response_class=FileResponse)
def clip_audio(clip_id: int, session: SessionDep, user: CurrentUser) -> FileResponse:
    """Just the clip's span of the recording as WAV; supports HTTP Range requests (409 for text-only clips)."""
    clip = clips_service.get_clip(session=session, clip_id=clip_id)
    path = clips_service.audio_path(session=session, clip=clip)
    return FileResponse(path, media_type="audio/wav", filename=f"clip-{clip.id}.wav",
                        content_disposition_type="inline")


# ---- snippets ---------------------------------------------------------------------------


def _snippet_read(s: object) -> SnippetRead:
    read = SnippetRead.model_validate(s)
    return read.model_copy(update={"link": f"/calls/{read.call_id}?t={int(read.start)}"})


@router.get("/snippets", response_model=SnippetList)
def list_snippets(session: SessionDep, user: CurrentUser, page: PageDep, call_id: int | None = None,
                  step: str | None = None, topic: str | None = None) -> SnippetList:
    items, total = snippets_service.list_snippets(session=session, offset=page.offset, limit=page.page_size,
                                                  call_id=call_id, step=step, topic=topic)
    return SnippetList(items=[_snippet_read(s) for s in items], total=total, page=page.page,
                       page_size=page.page_size)


@router.get("/snippets/{snippet_id}", response_model=SnippetRead)
def get_snippet(snippet_id: int, session: SessionDep, user: CurrentUser) -> SnippetRead:
    """One snippet with its score's explanation (each part's weight, value, contribution, evidence)."""
    return _snippet_read(snippets_service.get_snippet(session=session, snippet_id=snippet_id))


# ---- talk tracks ------------------------------------------------------------------------


@router.get("/talk-tracks", response_model=list[TalkTrackRead])
def list_talk_tracks(request: Request, session: SessionDep, user: CurrentUser, step: str | None = None,
                     topic: str | None = None, kind: str | None = None) -> list[TalkTrackRead]:
    """Talk tracks for a step or a customer topic, each with its ranked variants."""
    _reject_unknown(request, {"step", "topic", "kind"})
    if kind is not None and kind not in set(TrackKind):
        raise Unprocessable(f"kind must be one of {', '.join(TrackKind)}; got {kind!r}.")
    tracks = tracks_service.list_tracks(session=session, step=step, topic=topic, kind=kind)
    return [_track_read(session, t) for t in tracks]


@router.get("/talk-tracks/{track_id}", response_model=TalkTrackRead)
def get_talk_track(track_id: int, session: SessionDep, user: CurrentUser) -> TalkTrackRead:
    return _track_read(session, tracks_service.get_track(session=session, track_id=track_id))


def _track_read(session: SessionDep, track: object) -> TalkTrackRead:
    read = TalkTrackRead.model_validate(track)
    variants = tracks_service.variants_of(session=session, track_id=read.id)
    return read.model_copy(update={"variants": [VariantRead.model_validate(v) for v in variants]})


# ---- playlists --------------------------------------------------------------------------


def _playlist_read(session: SessionDep, playlist: Playlist) -> PlaylistRead:
    order = playlists_service.play_order(session=session, playlist=playlist)
    return PlaylistRead(
        id=playlist.id, name=playlist.name, description=playlist.description, created_by_id=playlist.created_by_id,
        shared_team_ids=playlist.shared_team_ids, shared_user_ids=playlist.shared_user_ids,
        created_at=playlist.created_at, updated_at=playlist.updated_at, items=order,
        total_duration=round(sum(i["duration"] for i in order), 3),
    )


@router.post("/playlists", status_code=status.HTTP_201_CREATED, response_model=PlaylistRead)
def create_playlist(playlist_in: PlaylistCreate, session: SessionDep, user: CoachUser) -> PlaylistRead:
    return _playlist_read(session, playlists_service.create_playlist(session=session, user=user,
                                                                     playlist_in=playlist_in))


@router.get("/playlists", response_model=list[PlaylistRead])
def list_playlists(session: SessionDep, user: CurrentUser) -> list[PlaylistRead]:
    return [_playlist_read(session, p) for p in playlists_service.list_playlists(session=session, user=user)]


@router.get("/playlists/{playlist_id}", response_model=PlaylistRead)
def get_playlist(playlist_id: int, session: SessionDep, user: CurrentUser) -> PlaylistRead:
    """The playlist in play order: each clip's audio URL, offset in the play-through, note and text."""
    return _playlist_read(session, playlists_service.get_playlist(session=session, playlist_id=playlist_id,
                                                                  user=user))


@router.patch("/playlists/{playlist_id}", response_model=PlaylistRead)
def update_playlist(playlist_id: int, playlist_in: PlaylistUpdate, session: SessionDep,
                    user: CoachUser) -> PlaylistRead:
    playlist = playlists_service.editable(session=session, playlist_id=playlist_id, user=user)
    return _playlist_read(session, playlists_service.update_playlist(session=session, playlist=playlist,
                                                                     playlist_in=playlist_in))


@router.delete("/playlists/{playlist_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_playlist(playlist_id: int, session: SessionDep, user: CoachUser) -> None:
    session.delete(playlists_service.editable(session=session, playlist_id=playlist_id, user=user))


@router.post("/playlists/{playlist_id}/items", status_code=status.HTTP_201_CREATED, response_model=PlaylistRead)
def add_playlist_item(playlist_id: int, item_in: PlaylistItemIn, session: SessionDep,
                      user: CoachUser) -> PlaylistRead:
    playlist = playlists_service.editable(session=session, playlist_id=playlist_id, user=user)
    playlists_service.add_item(session=session, playlist=playlist, clip_id=item_in.clip_id, note=item_in.note,
                               position=item_in.position)
    return _playlist_read(session, playlist)


@router.post("/playlists/{playlist_id}/items/from-search", status_code=status.HTTP_201_CREATED,
             response_model=PlaylistRead)
def bulk_add_from_search(playlist_id: int, bulk_in: PlaylistBulkAdd, session: SessionDep,
                         user: CoachUser) -> PlaylistRead:
    """Add the top clip and snippet results of a search (snippets are turned into clips)."""
    playlist = playlists_service.editable(session=session, playlist_id=playlist_id, user=user)
    filters = query_service.SearchFilters(step=bulk_in.step, topic=bulk_in.topic, rep_id=bulk_in.rep_id,
                                          team_id=bulk_in.team_id, language=bulk_in.language,
                                          outcome=bulk_in.outcome, min_score=bulk_in.min_score)
    playlists_service.add_from_search(session=session, playlist=playlist, user=user, query=bulk_in.q,
                                      filters=filters, limit=bulk_in.limit)
    return _playlist_read(session, playlist)


@router.delete("/playlists/{playlist_id}/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_playlist_item(playlist_id: int, item_id: int, session: SessionDep, user: CoachUser) -> None:
    playlist = playlists_service.editable(session=session, playlist_id=playlist_id, user=user)
    playlists_service.remove_item(session=session, playlist=playlist, item_id=item_id)


@router.put("/playlists/{playlist_id}/order", response_model=PlaylistRead)
def reorder_playlist(playlist_id: int, order_in: PlaylistReorder, session: SessionDep, user: CoachUser) -> PlaylistRead:
    playlist = playlists_service.editable(session=session, playlist_id=playlist_id, user=user)
    playlists_service.reorder(session=session, playlist=playlist, item_ids=order_in.item_ids)
    return _playlist_read(session, playlist)
