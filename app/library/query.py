"""One search over clips, snippets and talk tracks: filters, fused ranking, highlights, links.

Filters that describe one moment (outcome, date) apply to snippets and clips; talk-track
variants are aggregates over many moments, so they are left out when such a filter is set.
Step, topic, rep, team, language and score filter variants by the moments they group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session

from app import ml
from app.db import in_ids_param
from app.errors import Unprocessable
from app.library import search as index_service
from app.library.index import RRF_K
from app.library.models import Clip, Snippet, TalkTrack, TalkTrackVariant
from app.library.search import CLIP, KIND_NAMES, KIND_OF_NAME, SNIPPET, VARIANT, decode, encode
from app.library.text import highlight, tokenize
from app.transcripts.formats import detect_language

MAX_QUERY_CHARS = 500
MAX_PAGE_SIZE = 100
MAX_DEPTH = 1000  # page × page_size


@dataclass(frozen=True)
class SearchFilters:
    types: tuple[str, ...] = ("snippet", "clip", "talk_track")
    step: str | None = None
    topic: str | None = None
    rep_id: int | None = None
    team_id: int | None = None
    language: str | None = None
    outcome: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    min_score: float | None = None
    max_score: float | None = None

    def narrows(self) -> bool:
        return any(v is not None for k, v in self.__dict__.items() if k != "types") or len(self.types) < 3


@dataclass(frozen=True)
class SearchPage:
    items: list[dict[str, Any]]
    page: int
    page_size: int
    has_more: bool
    index: dict[str, Any]


def check(query: str, filters: SearchFilters, page: int, page_size: int) -> str:
    """Validate a search request; a clear 422 for each problem."""
    query = (query or "").strip()
    if not query:
        raise Unprocessable("The search query is empty: pass q=<words to look for>, e.g. q=price objection.")
    if len(query) > MAX_QUERY_CHARS:
        raise Unprocessable(f"The search query is {len(query)} characters; at most {MAX_QUERY_CHARS} are allowed.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Unprocessable(f"page_size must be between 1 and {MAX_PAGE_SIZE}; got {page_size}.")
    if page < 1 or page * page_size > MAX_DEPTH:
        raise Unprocessable(f"Search returns at most the first {MAX_DEPTH} results: page × page_size must be "
                            f"≤ {MAX_DEPTH} (got page {page}, page_size {page_size}); narrow the query instead.")
    unknown = set(filters.types) - set(KIND_OF_NAME)
    if unknown or not filters.types:
        raise Unprocessable(f"Unknown result type(s) {sorted(unknown)}; use any of snippet, clip, talk_track.")
    if filters.min_score is not None and filters.max_score is not None and filters.min_score > filters.max_score:
        raise Unprocessable("min_score is greater than max_score; swap them.")
    return query


def allowed_ids(*, session: Session, filters: SearchFilters) -> set[int] | None:
    """Index ids passing the filters (None: everything)."""
    if not filters.narrows():
        return None
    ids: set[int] = set()
    for kind, model in ((SNIPPET, Snippet), (CLIP, Clip)):
        if KIND_NAMES[kind] in filters.types:
            ids |= {encode(kind, i) for i in session.scalars(select(model.id).where(*_moment_conditions(model,
                                                                                                        filters)))}
    if "talk_track" in filters.types and filters.outcome is None and filters.date_from is None \
            and filters.date_to is None:
        ids |= {encode(VARIANT, v.id) for v, t in session.execute(
            select(TalkTrackVariant, TalkTrack).join(TalkTrack, TalkTrack.id == TalkTrackVariant.talk_track_id))
            .tuples() if _variant_passes(v, t, filters)}
    return ids


def _moment_conditions(model: Any, f: SearchFilters) -> list[Any]:
    conditions: list[Any] = []
    pairs = [(f.step, model.step_id), (f.topic, model.topic), (f.rep_id, model.rep_id), (f.team_id, model.team_id),
             (f.language, model.language), (f.outcome, model.outcome)]
    conditions += [column == value for value, column in pairs if value is not None]
    if f.date_from is not None:
        conditions.append(model.occurred_at >= f.date_from)
    if f.date_to is not None:
        conditions.append(model.occurred_at < f.date_to)
    if f.min_score is not None:
        conditions.append(model.score >= f.min_score)
    if f.max_score is not None:
        conditions.append(model.score <= f.max_score)
    return conditions


def _variant_passes(v: TalkTrackVariant, t: TalkTrack, f: SearchFilters) -> bool:
    meta = v.meta or {}
    checks = [
        f.step is None or f.step in meta.get("step_ids", []),
        f.topic is None or f.topic in meta.get("topics", []) or (t.kind == "topic" and t.key == f.topic),
        f.rep_id is None or f.rep_id in meta.get("rep_ids", []),
        f.team_id is None or f.team_id in meta.get("teams", []),
        f.language is None or f.language in meta.get("languages", []),
        f.min_score is None or v.mean_score >= f.min_score,
        f.max_score is None or v.mean_score <= f.max_score,
    ]
    return all(checks)


def run(*, session: Session, query: str, filters: SearchFilters, page: int = 1, page_size: int = 20) -> SearchPage:
    """Hybrid search (BM25 + vectors, RRF) within the filters, one page of hydrated results."""
    query = check(query, filters, page, page_size)
    state = index_service.get_index(session=session)
    allowed = allowed_ids(session=session, filters=filters)
    depth = page * page_size
    candidates = max(depth + 1, CROSS_LANGUAGE_DEPTH)
    hits = [] if allowed == set() else state.index.search(query, ml.embed_query(query), k=candidates,
                                                          allowed_ids=allowed, query_lang=detect_language(query))
    # Languages of every candidate (for the fusion), full rows only for the page shown.
    languages = _languages(session, [h.id for h in hits])
    stale = {h.id for h in hits if h.id not in languages}
    if stale:
        index_service.apply_changes(upserts=set(), removals=stale)
    live = language_aware([h for h in hits if h.id in languages], query=query, language_of=languages.get)
    shown = live[(page - 1) * page_size:depth]
    rows = _hydrate(session, [h.id for h in shown])
    terms = tokenize(query)
    items = [_item(rows[h.id], h, terms) for h in shown if h.id in rows]
    info = {"documents": state.index.count, "model": state.index.model_name, "rebuilt": state.rebuilt,
            "warning": state.warning,
            "fusion": "reciprocal rank fusion (k=60) of BM25 and cosine rankings; for results in another "
                      "language than the query, whose words BM25 cannot match, the cosine rank counts twice"}
    return SearchPage(items, page, page_size, len(live) > depth, info)


CROSS_LANGUAGE_DEPTH = 100


def language_aware(hits: list[Any], *, query: str, language_of: Any) -> list[Any]:
    """Re-fuse so that a result in the other language is not punished for lacking a keyword rank.

    why: plain RRF adds 1/(60+r) from BM25 only for documents that share words with the query,
    which cross-language documents never do; measured on bench/bench_library.py this dropped
    e5's en→zh hit@1 from 14/16 (vector only) to 9/16. Counting the vector rank twice for them
    scores both languages on the same scale.
    """
    query_lang = detect_language(query)
    scored = []
    for hit in hits:
        doc_lang = language_of(hit.id)
        if hit.bm25_rank is None and hit.vector_rank is not None and doc_lang and doc_lang != query_lang:
            score = 2.0 / (RRF_K + hit.vector_rank)
        else:
            score = hit.score
        scored.append((score, hit))
    scored.sort(key=lambda pair: -pair[0])
    return [hit if score == hit.score else dataclasses.replace(hit, score=score) for score, hit in scored]


def _by_kind(doc_ids: list[int]) -> dict[int, list[int]]:
    by_kind: dict[int, list[int]] = {}
    for doc_id in doc_ids:
        kind, row_id = decode(doc_id)
        by_kind.setdefault(kind, []).append(row_id)
    return by_kind


def _languages(session: Session, doc_ids: list[int]) -> dict[int, str | None]:
    """The language of each candidate still in the database, from two columns (no ORM rows)."""
    out: dict[int, str | None] = {}
    for kind, ids in _by_kind(doc_ids).items():
        for row_id, language in _select(session, "languages", kind, ids):
            if kind == VARIANT:
                langs = (language or {}).get("languages") or []  # the variant's meta
                out[encode(kind, row_id)] = langs[0] if len(langs) == 1 else None
            else:
                out[encode(kind, row_id)] = str(language or "en")
    return out


# Columns no search result shows. Every search hydrates up to CROSS_LANGUAGE_DEPTH candidates;
# loading their vectors and JSON features was most of a search's CPU. Results are plain rows of
# the other columns (ORM objects were a fifth of a search): a later use of a hidden column fails
# loudly (AttributeError) in tests instead of quietly costing a query per row.
_NOT_SHOWN = {
    SNIPPET: (Snippet.vector, Snippet.features, Snippet.explanation, Snippet.utterance_indexes,
              Snippet.response_indexes, Snippet.outcome_evidence),
    CLIP: (Clip.vector,),
    VARIANT: (TalkTrackVariant.vector, TalkTrackVariant.snippet_ids, TalkTrackVariant.best_clip_ids),
}
TRACK = 0  # _select's kind for the talk tracks of variants


def _select(session: Session, purpose: str, kind: int, ids: Iterable[int]) -> Sequence[Any]:
    """Rows of one search query over a list of row ids (see _statement), as plain rows."""
    statement = _statement(purpose, kind, session.get_bind().dialect.name)
    return session.connection().execute(statement, {"ids": list(ids)}).all()


@cache
def _statement(purpose: str, kind: int, dialect: str) -> Select[Any]:
    """Each search query built once per process: building a select and its cache key anew for
    every search cost more than running it (a sixth of a search)."""
    if kind == TRACK:
        t = TalkTrack
        return select(t.id, t.label, t.kind, t.key).where(in_ids_param(dialect, t.id))
    model = index_service._MODELS[kind]
    if purpose == "languages":
        column = TalkTrackVariant.meta if kind == VARIANT else model.language
        return select(model.id, column).where(in_ids_param(dialect, model.id))
    hidden = {column.key for column in _NOT_SHOWN[kind]}
    shown = [getattr(model, attr.key) for attr in inspect(model).column_attrs if attr.key not in hidden]
    return select(*shown).where(in_ids_param(dialect, model.id))


def _hydrate(session: Session, doc_ids: list[int]) -> dict[int, tuple[int, Any, Any]]:
    """The shown columns of each result (and its talk track for a variant), as plain rows."""
    out: dict[int, tuple[int, Any, Any]] = {}
    for kind, ids in _by_kind(doc_ids).items():
        rows = _select(session, "rows", kind, ids)
        tracks = {}
        if kind == VARIANT:  # the talk tracks of a page of variants, in one query (not one per variant)
            tracks = {t.id: t for t in _select(session, "rows", TRACK, {row.talk_track_id for row in rows})}
        for row in rows:
            out[encode(kind, row.id)] = (kind, row, tracks.get(row.talk_track_id) if kind == VARIANT else None)
    return out


def _item(entry: tuple[int, Any, Any], hit: Any, terms: list[str]) -> dict[str, Any]:
    kind, row, track = entry
    base = {"type": KIND_NAMES[kind], "id": row.id, "relevance": round(hit.score, 6), "bm25_rank": hit.bm25_rank,
            "vector_rank": hit.vector_rank, "cosine": None if hit.cosine is None else round(hit.cosine, 4)}
    if kind == VARIANT:
        assert track is not None
        example = (row.meta.get("examples") or [{}])[0]
        return base | {
            "title": track.label, "text": row.text, "highlight": highlight(row.text, terms),
            "talk_track_id": track.id, "step_id": track.key if track.kind == "step" else None,
            "topic": track.key if track.kind == "topic" else None, "score": row.mean_score,
            "usage_count": row.usage_count, "advancement_rate": row.advancement_rate,
            "call_id": example.get("call_id"), "start": example.get("start"),
            "link": _link(example.get("call_id"), example.get("start")), "language": _lang(row),
        }
    text = row.rep_text if kind == SNIPPET else row.text
    title = f"{row.step_name} — {row.rep_name or 'rep'}" if kind == SNIPPET else row.title
    if kind == SNIPPET:
        context = "\n".join(f"{who}: {t}" for who, t in (("Customer", row.customer_before), ("Rep", row.rep_text),
                                                          ("Customer", row.customer_text)) if t)
        extra = {"customer_text": row.customer_text, "context_highlight": highlight(context, terms)}
    else:
        extra = {"tags": row.tags, "folder": row.folder}
    return base | extra | {
        "title": title, "text": text, "highlight": highlight(text, terms), "call_id": row.call_id,
        "start": row.start, "end": row.end, "link": _link(row.call_id, row.start), "step_id": row.step_id,
        "topic": row.topic, "rep_name": row.rep_name, "team_id": row.team_id, "language": row.language,
        "outcome": row.outcome, "score": row.score,
    }


def _lang(row: Any) -> str | None:
    langs = row.meta.get("languages") or []
    return langs[0] if len(langs) == 1 else None


def _link(call_id: int | None, start: float | None) -> str | None:
    """Where the moment is: the call's transcript at that second."""
    if call_id is None:
        return None
    return f"/calls/{call_id}?t={int(start or 0)}"
