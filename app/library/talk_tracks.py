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
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import ml
from app.errors import NotFound
from app.library import scoring
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
              "rank_formula": "0.6·mean_score + 0.4·(advanced+1)/(labelled+2)"},
        vector=best.vector, vector_model=best.vector_model,
    )


def refresh_all(*, session: Session) -> list[TalkTrack]:
    """Recompute every talk track from the current snippets (topics first)."""
    settings = library_settings()
    snippets = list(session.scalars(select(Snippet).order_by(Snippet.id)))
    topics = assign_topics(snippets, settings)
    center = np.mean([vector_of(s) for s in snippets], axis=0) if len(snippets) > 2 else None
    session.execute(delete(TalkTrack))
    clips_by_snippet: dict[int, list[Clip]] = defaultdict(list)
    for clip in session.scalars(select(Clip).where(Clip.snippet_id.is_not(None)).order_by(Clip.id)):
        clips_by_snippet[int(clip.snippet_id)].append(clip)  # type: ignore[arg-type]
    tracks: list[TalkTrack] = []
    by_step: dict[tuple[str, str], list[Snippet]] = defaultdict(list)
    by_topic: dict[str, list[Snippet]] = defaultdict(list)
    for s in snippets:
        by_step[(s.sop_id, s.step_id)].append(s)
        if s.topic:
            by_topic[s.topic].append(s)
    for (sop_id, step_id), members in sorted(by_step.items()):
        tracks.append(_track(session, TrackKind.step, step_id, sop_id, members[0].step_name,
                             {"source": "sop-step", "sop_id": sop_id}, members, settings, clips_by_snippet, center))
    for key, members in sorted(by_topic.items()):
        tracks.append(_track(session, TrackKind.topic, key, None, topics[key]["label"], topics[key], members,
                             settings, clips_by_snippet, center))
    session.flush()
    return tracks


def _track(session: Session, kind: TrackKind, key: str, sop_id: str | None, label: str, detail: dict[str, Any],
           members: list[Snippet], settings: LibrarySettings, clips_by_snippet: dict[int, list[Clip]],
           center: np.ndarray | None) -> TalkTrack:
    track = TalkTrack(kind=kind, key=key, sop_id=sop_id, label=label, detail=detail, usage_count=len(members))
    session.add(track)
    session.flush()
    for variant in build_variants(members, settings, clips_by_snippet, center):
        variant.talk_track_id = track.id
        session.add(variant)
    return track


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
