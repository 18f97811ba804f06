"""Playlists: ordered clips with notes, shared with teams or named users, played straight through.

Who sees a playlist: its creator, admins, members (any relation) of a shared team, and named
users. Who edits it: its creator and admins; managers and trainers create playlists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Forbidden, NotFound, Unprocessable
from app.library import clips as clips_service
from app.library import query as query_service
from app.library.models import Clip, ClipKind, Playlist, PlaylistItem, Snippet
from app.users.models import Role, Team, User

MAX_BULK = 100


class PlaylistNotFound(NotFound):
    pass


def can_see(playlist: Playlist, user: User) -> bool:
    return (user.role == Role.admin or playlist.created_by_id == user.id or user.id in (playlist.shared_user_ids or [])
            or bool(user.team_ids() & set(playlist.shared_team_ids or [])))


def get_playlist(*, session: Session, playlist_id: int, user: User) -> Playlist:
    playlist = session.get(Playlist, playlist_id)
    if playlist is None or not can_see(playlist, user):
        raise PlaylistNotFound(f"Playlist {playlist_id} does not exist or is not shared with you.")
    return playlist


def editable(*, session: Session, playlist_id: int, user: User) -> Playlist:
    playlist = get_playlist(session=session, playlist_id=playlist_id, user=user)
    if user.role != Role.admin and playlist.created_by_id != user.id:
        raise Forbidden("Only the playlist's creator or an admin can change it.")
    return playlist


def _check_sharing(session: Session, team_ids: list[int], user_ids: list[int]) -> None:
    for team_id in team_ids:
        if session.get(Team, team_id) is None:
            raise Unprocessable(f"Cannot share with team {team_id}: no such team.")
    for user_id in user_ids:
        if session.get(User, user_id) is None:
            raise Unprocessable(f"Cannot share with user {user_id}: no such user.")


def create_playlist(*, session: Session, user: User, playlist_in: Any) -> Playlist:
    _check_sharing(session, playlist_in.shared_team_ids, playlist_in.shared_user_ids)
    playlist = Playlist(name=playlist_in.name, description=playlist_in.description or "", created_by_id=user.id,
                        shared_team_ids=sorted(set(playlist_in.shared_team_ids)),
                        shared_user_ids=sorted(set(playlist_in.shared_user_ids)))
    session.add(playlist)
    session.flush()
    return playlist


def update_playlist(*, session: Session, playlist: Playlist, playlist_in: Any) -> Playlist:
    changes = playlist_in.model_dump(exclude_unset=True)
    _check_sharing(session, changes.get("shared_team_ids") or [], changes.get("shared_user_ids") or [])
    for name, value in changes.items():
        if value is not None:
            setattr(playlist, name, sorted(set(value)) if name.startswith("shared_") else value)
    session.flush()
    return playlist


def list_playlists(*, session: Session, user: User) -> list[Playlist]:
    return [p for p in session.scalars(select(Playlist).order_by(Playlist.id)) if can_see(p, user)]


def items(*, session: Session, playlist_id: int) -> list[tuple[PlaylistItem, Clip]]:
    return list(session.execute(
        select(PlaylistItem, Clip).join(Clip, Clip.id == PlaylistItem.clip_id)
        .where(PlaylistItem.playlist_id == playlist_id).order_by(PlaylistItem.position, PlaylistItem.id)
    ).tuples())


def add_item(*, session: Session, playlist: Playlist, clip_id: int, note: str = "",
             position: int | None = None) -> PlaylistItem:
    """Add a clip (at the end, or at a 1-based position, shifting the rest down)."""
    clips_service.get_clip(session=session, clip_id=clip_id)
    current = items(session=session, playlist_id=playlist.id)
    index = len(current) if position is None else max(0, min(position - 1, len(current)))
    item = PlaylistItem(playlist_id=playlist.id, clip_id=clip_id, note=note, position=index)
    ordered = [i for i, _ in current]
    ordered.insert(index, item)
    session.add(item)
    _renumber(ordered)
    session.flush()
    return item


def _renumber(ordered: list[PlaylistItem]) -> None:
    for position, item in enumerate(ordered):
        item.position = position


def remove_item(*, session: Session, playlist: Playlist, item_id: int) -> None:
    item = session.get(PlaylistItem, item_id)
    if item is None or item.playlist_id != playlist.id:
        raise NotFound(f"Playlist {playlist.id} has no item {item_id}.")
    session.delete(item)
    session.flush()
    _renumber([i for i, _ in items(session=session, playlist_id=playlist.id)])
    session.flush()


def reorder(*, session: Session, playlist: Playlist, item_ids: list[int]) -> None:
    """Set the play order; item_ids must list every item exactly once."""
    current = {i.id: i for i, _ in items(session=session, playlist_id=playlist.id)}
    if sorted(item_ids) != sorted(current):
        raise Unprocessable(f"item_ids must list each of the playlist's items once: {sorted(current)}.")
    _renumber([current[i] for i in item_ids])
    session.flush()


def add_from_search(*, session: Session, playlist: Playlist, user: User, query: str,
                    filters: query_service.SearchFilters, limit: int) -> list[PlaylistItem]:
    """Bulk add: the top clip and snippet results of a search (snippets become clips)."""
    if not 1 <= limit <= MAX_BULK:
        raise Unprocessable(f"limit must be between 1 and {MAX_BULK}; got {limit}.")
    filters = query_service.SearchFilters(**{**filters.__dict__, "types": ("clip", "snippet")})
    found = query_service.run(session=session, query=query, filters=filters, page=1, page_size=limit)
    present = {c.id for _, c in items(session=session, playlist_id=playlist.id)}
    added: list[PlaylistItem] = []
    for hit in found.items:
        clip_id = hit["id"] if hit["type"] == "clip" else clip_for_snippet(session=session, user=user,
                                                                           snippet_id=hit["id"]).id
        if clip_id not in present:
            present.add(clip_id)
            added.append(add_item(session=session, playlist=playlist, clip_id=clip_id, note=f"from search: {query}"))
    return added


def clip_for_snippet(*, session: Session, user: User, snippet_id: int) -> Clip:
    """The snippet's auto clip, or a new clip of the same span."""
    existing = session.scalar(select(Clip).where(Clip.snippet_id == snippet_id).limit(1))
    if existing is not None:
        return existing
    s = session.get(Snippet, snippet_id)
    if s is None:
        raise NotFound(f"Snippet {snippet_id} no longer exists.")
    clip = clips_service._auto_clip(s)  # same fields; kind and author differ
    clip.kind, clip.created_by_id, clip.note, clip.folder = ClipKind.manual, user.id, "", ""
    session.add(clip)
    session.flush()
    from app.library import search as index_service

    index_service.mark_upsert(session, index_service.CLIP, clip.id)
    return clip


def play_order(*, session: Session, playlist: Playlist) -> list[dict[str, Any]]:
    """The clips in order with their audio URLs and offsets, for playing straight through."""
    out, offset = [], 0.0
    for item, clip in items(session=session, playlist_id=playlist.id):
        duration = clip.end - clip.start
        out.append({"item_id": item.id, "clip_id": clip.id, "title": clip.title, "note": item.note,
                    "audio_url": f"/api/v1/clips/{clip.id}/audio", "duration": round(duration, 3),
                    "starts_at": round(offset, 3), "call_id": clip.call_id, "start": clip.start, "end": clip.end,
                    "text": clip.text})
        offset += duration
    return out


def count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Playlist)) or 0
