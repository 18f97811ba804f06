"""Talk tracks (知识点): per SOP step and per recurring customer topic, rep phrasings grouped and ranked.

Customer topics, for the customer utterance a rep moment answers, in this order:
1. a topic lexicon cue (app.library.lexicons.TOPICS: "price objection" / 价格太贵, …);
2. the SOP's customer-side step the matcher gave that utterance ("Customer raises an objection");
3. otherwise utterances are clustered by embedding (average linkage, centred cosine distance ≤ 0.5);
   a cluster heard in at least two calls becomes a topic labelled by its three most frequent terms.

Variants: a track's rep phrasings are clustered the same way (centred cosine distance ≤ 0.45), and
ranked by rank_score = 0.6 · mean snippet score + 0.4 · (advanced + 1) / (labelled + 2)
(the advancement rate with a Laplace prior, so one lucky call does not top the list), then
usage. The advancement rate is reported with its Wilson 95 % interval.

Stable ids: a refresh updates talk tracks and variants in place rather than recreating them, so
links, bookmarks and search entries that name one survive. A track keeps its id while its
(kind, key, sop) stays; a new variant takes the id of the old variant of the same track that
shares the most of its moments, one to one, when they share at least half of the smaller group.
A moment is named by its call and first rep utterance (``meta["members"]``), which survives the
re-cut of a call that gives its snippets new ids. A split keeps the id on its larger part; a
variant none of whose moments remain is deleted.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import ml
from app.db import utcnow
from app.errors import NotFound
from app.library import scoring
from app.library import search as index_service
from app.library.lexicons import LibrarySettings, find_cues, library_settings, word_count
from app.library.models import Clip, Snippet, TalkTrack, TalkTrackVariant, TrackKind
from app.library.service import vector_of
from app.library.text import tokenize


class TalkTrackNotFound(NotFound):
    pass


def cluster(vectors: np.ndarray, threshold: float, center: np.ndarray | None = None) -> list[int]:
    """Cluster vectors: average linkage on cosine distance after centring, cut at threshold.

    Centring on the library's mean vector removes the direction every sentence shares
    (sentence embeddings are anisotropic: unrelated sentences often have cosine 0.7+), so
    one threshold works across embedding models.
    """
    if len(vectors) < 2:
        return [0] * len(vectors)
    from sklearn.cluster import AgglomerativeClustering

    vectors = np.asarray(vectors, dtype=np.float64)
    if center is not None:
        vectors = vectors - center
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                    linkage="average")
    return [int(x) for x in model.fit_predict(np.asarray(vectors, dtype=np.float64))]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "-", text.lower()).strip("-")[:80] or "topic"


def assign_topics(snippets: Sequence[Snippet], settings: LibrarySettings) -> dict[str, dict[str, Any]]:
    """Set snippet.topic for every snippet whose customer prompt has a recognisable topic."""
    topics: dict[str, dict[str, Any]] = {}
    rest: list[Snippet] = []
    for s in snippets:
        s.topic = None
        prompt = s.customer_before
        seed = next((key for key, t in settings.topics.items() if prompt and find_cues(prompt, {"x": t["cues"]})),
                    None)
        if seed is not None:
            t = settings.topics[seed]
            s.topic = seed
            topics.setdefault(seed, {"label": _seed_label(t), "source": "lexicon", "cues": t["cues"][:8]})
        elif s.features.get("before_step"):
            key = f"step-{s.features['before_step']}"
            s.topic = key
            topics.setdefault(key, {"label": s.features.get("before_step_name", key), "source": "sop-step"})
        elif word_count(prompt) >= 3:
            rest.append(s)
    topics.update(_clustered_topics(rest, settings))
    return topics


def _seed_label(topic: dict[str, Any]) -> str:
    return f"{topic['label']} · {topic['zh_label']}" if topic.get("zh_label") else str(topic["label"])


def _clustered_topics(snippets: list[Snippet], settings: LibrarySettings) -> dict[str, dict[str, Any]]:
    if len(snippets) < 2:
        return {}
    embedder = ml.get_embedder()
    vectors = embedder.embed([s.customer_before for s in snippets], kind="passage")
    groups: dict[int, list[Snippet]] = defaultdict(list)
    center = vectors.mean(axis=0) if len(vectors) > 2 else None
    for s, label in zip(snippets, cluster(vectors, settings.topic_distance, center), strict=True):
        groups[label].append(s)
    topics: dict[str, dict[str, Any]] = {}
    for members in groups.values():
        if len({m.call_id for m in members}) < 2:
            continue
        terms = [t for t, _ in Counter(t for m in members for t in set(tokenize(m.customer_before))).most_common(3)]
        label = " / ".join(terms) or "other"
        key = f"cluster-{_slug(label)}"
        for m in members:
            m.topic = key
        topics[key] = {"label": label, "source": "cluster", "top_terms": terms}
    return topics


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (None when n = 0)."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def build_variants(snippets: Sequence[Snippet], settings: LibrarySettings, clips_by_snippet: dict[int, list[Clip]],
                   center: np.ndarray | None = None) -> list[TalkTrackVariant]:
    """Group near-identical phrasings and rank the groups by score and outcome."""
    vectors = np.stack([vector_of(s) for s in snippets])
    groups: dict[int, list[Snippet]] = defaultdict(list)
    for s, label in zip(snippets, cluster(vectors, settings.variant_distance, center), strict=True):
        groups[label].append(s)
    variants = [_variant(members, clips_by_snippet) for members in groups.values()]
    variants.sort(key=lambda v: (-v.rank_score, -v.usage_count, v.text))
    for rank, v in enumerate(variants, start=1):
        v.rank = rank
    return variants


def _variant(members: list[Snippet], clips_by_snippet: dict[int, list[Clip]]) -> TalkTrackVariant:
    members = sorted(members, key=lambda s: (-s.score, s.id))
    labelled = [s for s in members if s.outcome in scoring.POSITIVE | scoring.NEGATIVE]
    advanced = sum(1 for s in labelled if s.outcome in scoring.POSITIVE)
    mean_score = float(np.mean([s.score for s in members]))
    rank_score = 0.6 * mean_score + 0.4 * (advanced + 1) / (len(labelled) + 2)
    clips = [c.id for s in members for c in clips_by_snippet.get(s.id, [])][:3]
    best = members[0]
    return TalkTrackVariant(
        rank=0, text=best.rep_text, snippet_ids=[s.id for s in members], usage_count=len(members),
        labelled_count=len(labelled), advanced_count=advanced,
        advancement_rate=round(advanced / len(labelled), 4) if labelled else None,
        mean_score=round(mean_score, 4), rank_score=round(rank_score, 4), best_clip_ids=clips,
        meta={"advancement_interval_95": wilson(advanced, len(labelled)),
              "best_snippet_ids": [s.id for s in members[:3]],
              "teams": sorted({s.team_id for s in members if s.team_id is not None}),
              "reps": sorted({s.rep_name for s in members if s.rep_name}),
              "rep_ids": sorted({s.rep_id for s in members if s.rep_id is not None}),
              "languages": sorted({s.language for s in members}),
              "step_ids": sorted({s.step_id for s in members}),
              "topics": sorted({s.topic for s in members if s.topic}),
              "examples": [{"snippet_id": s.id, "call_id": s.call_id, "start": s.start, "text": s.rep_text}
                           for s in members[:3]],
              "rank_formula": "0.6·mean_score + 0.4·(advanced+1)/(labelled+2)",
              "members": [member_key(s) for s in members]},
        vector=best.vector, vector_model=best.vector_model,
    )


def member_key(snippet: Snippet) -> str:
    """A moment's name that outlives its snippet row: call id and first rep utterance index."""
    if snippet.utterance_indexes:
        return f"{snippet.call_id}:{min(snippet.utterance_indexes)}"
    return f"{snippet.call_id}@{snippet.start:.2f}"


def match_variants(old: Sequence[TalkTrackVariant], new: Sequence[TalkTrackVariant]) -> dict[int, TalkTrackVariant]:
    """Pair new variants (by position) with old ones of the same track sharing most moments, one to one.

    A pair needs at least half of the smaller group's moments in common; larger overlaps are
    paired first, ties by the old variant's id, so the result does not depend on list order.
    """
    owner = {key: v for v in old for key in v.meta.get("members") or []}
    pairs = []
    for i, variant in enumerate(new):
        members = variant.meta.get("members") or []
        for v, shared in Counter(owner[k] for k in members if k in owner).items():
            if 2 * shared >= min(len(members), len(v.meta["members"])):
                pairs.append((-shared, v.id, i, v))
    matched: dict[int, TalkTrackVariant] = {}
    taken: set[int] = set()
    for _, old_id, i, v in sorted(pairs, key=lambda p: p[:3]):
        if i not in matched and old_id not in taken:
            matched[i] = v
            taken.add(old_id)
    return matched


_VARIANT_FIELDS = ("rank", "text", "snippet_ids", "usage_count", "labelled_count", "advanced_count",
                   "advancement_rate", "mean_score", "rank_score", "best_clip_ids", "meta", "vector", "vector_model")


def refresh_all(*, session: Session) -> list[TalkTrack]:
    """Recompute every talk track from the current snippets (topics first), keeping ids stable."""
    settings = library_settings()
    snippets = list(session.scalars(select(Snippet).order_by(Snippet.id)))
    topics = assign_topics(snippets, settings)
    center = np.mean([vector_of(s) for s in snippets], axis=0) if len(snippets) > 2 else None
    old_tracks = {(t.kind, t.key, t.sop_id): t for t in session.scalars(select(TalkTrack).order_by(TalkTrack.id))}
    old_variants: dict[int, list[TalkTrackVariant]] = defaultdict(list)
    by_id = {s.id: s for s in snippets}
    for v in session.scalars(select(TalkTrackVariant).order_by(TalkTrackVariant.id)):
        if "members" not in v.meta:  # stored before members were kept: name them by their snippets
            v.meta = {**v.meta, "members": [member_key(by_id[i]) for i in v.snippet_ids if i in by_id]}
        old_variants[v.talk_track_id].append(v)
    clips_by_snippet: dict[int, list[Clip]] = defaultdict(list)
    for clip in session.scalars(select(Clip).where(Clip.snippet_id.is_not(None)).order_by(Clip.id)):
        clips_by_snippet[int(clip.snippet_id)].append(clip)  # type: ignore[arg-type]
    by_step: dict[tuple[str, str], list[Snippet]] = defaultdict(list)
    by_topic: dict[str, list[Snippet]] = defaultdict(list)
    for s in snippets:
        by_step[(s.sop_id, s.step_id)].append(s)
        if s.topic:
            by_topic[s.topic].append(s)
    specs = [(TrackKind.step, step_id, sop_id, members[0].step_name, {"source": "sop-step", "sop_id": sop_id},
              members) for (sop_id, step_id), members in sorted(by_step.items())]
    specs += [(TrackKind.topic, key, None, topics[key]["label"], topics[key], members)
              for key, members in sorted(by_topic.items())]
    tracks = []
    for kind, key, sop_id, label, detail, members in specs:
        track = old_tracks.pop((kind, key, sop_id), None)
        relabelled = track is not None and track.label != label
        track = _track(session, track, (kind, key, sop_id), label, detail, members)
        variants = build_variants(members, settings, clips_by_snippet, center)
        _store_variants(session, track, old_variants.pop(track.id, []), variants, relabelled=relabelled)
        tracks.append(track)
    for track in old_tracks.values():
        for v in old_variants.pop(track.id, []):
            _delete_variant(session, v)
    session.flush()  # variants first: the unit of work does not order them before their track
    for track in old_tracks.values():
        session.delete(track)
    session.flush()
    return tracks


def _track(session: Session, track: TalkTrack | None, natural_key: tuple[str, str, str | None], label: str,
           detail: dict[str, Any], members: list[Snippet]) -> TalkTrack:
    """The track row for (kind, key, sop): the existing one updated in place, or a new one."""
    kind, key, sop_id = natural_key
    if track is None:
        track = TalkTrack(kind=kind, key=key, sop_id=sop_id)
        session.add(track)
    track.label, track.detail, track.usage_count, track.updated_at = label, detail, len(members), utcnow()
    session.flush()
    return track


def _store_variants(session: Session, track: TalkTrack, old: list[TalkTrackVariant],
                    new: list[TalkTrackVariant], *, relabelled: bool) -> None:
    """Write a track's new variants, reusing the ids of the old ones they continue."""
    matched = match_variants(old, new)
    kept = {id(v) for v in matched.values()}
    for v in old:
        if id(v) not in kept:
            _delete_variant(session, v)
    for i, variant in enumerate(new):
        row = matched.get(i)
        if row is None:
            variant.talk_track_id = track.id
            session.add(variant)
            session.flush()
            index_service.mark_upsert(session, index_service.VARIANT, variant.id)
            continue
        before = (row.text, row.meta.get("languages"), row.vector, row.vector_model)
        for name in _VARIANT_FIELDS:
            setattr(row, name, getattr(variant, name))
        if relabelled or before != (row.text, row.meta.get("languages"), row.vector, row.vector_model):
            index_service.mark_upsert(session, index_service.VARIANT, row.id)


def _delete_variant(session: Session, variant: TalkTrackVariant) -> None:
    index_service.mark_removal(session, index_service.VARIANT, variant.id)
    session.delete(variant)


def list_tracks(*, session: Session, step: str | None = None, topic: str | None = None,
                kind: str | None = None) -> list[TalkTrack]:
    query = select(TalkTrack)
    if step is not None:
        query = query.where(TalkTrack.kind == TrackKind.step, TalkTrack.key == step)
    if topic is not None:
        query = query.where(TalkTrack.kind == TrackKind.topic,
                            (TalkTrack.key == topic) | (TalkTrack.label.contains(topic)))
    if kind is not None:
        query = query.where(TalkTrack.kind == kind)
    return list(session.scalars(query.order_by(TalkTrack.usage_count.desc(), TalkTrack.id)))


def get_track(*, session: Session, track_id: int) -> TalkTrack:
    track = session.get(TalkTrack, track_id)
    if track is None:
        raise TalkTrackNotFound(f"Talk track {track_id} does not exist; talk tracks are rebuilt as calls "
                                "finish, so list them again with GET /api/v1/talk-tracks.")
    return track


def variants_of(*, session: Session, track_id: int) -> list[TalkTrackVariant]:
    return list(session.scalars(select(TalkTrackVariant).where(TalkTrackVariant.talk_track_id == track_id)
                                .order_by(TalkTrackVariant.rank)))
