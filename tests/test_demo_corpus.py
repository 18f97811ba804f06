"""The committed generated demo corpus: reproducible, parseable, valid metadata, enough variety."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import av
import pytest

from app.calls.schemas import CallMeta
from app.transcripts.formats import parse_transcript

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "demo_data" / "generated"
TRANSCRIPT_EXT = {".txt", ".json"}


def _load_script():
    spec = importlib.util.spec_from_file_location("make_demo_corpus", ROOT / "scripts" / "make_demo_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _sums(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def _truth() -> list[dict]:
    return [json.loads(line) for line in (GENERATED / "truth.jsonl").read_text(encoding="utf-8").splitlines()]


def _calls() -> list[Path]:
    return sorted(p for p in GENERATED.iterdir() if p.suffix in TRANSCRIPT_EXT | {".ogg"}
                  and not p.name.endswith(".meta.json"))


def test_regenerating_without_audio_reproduces_committed_files(tmp_path: Path) -> None:
    _load_script().main(["--out", str(tmp_path)])
    committed, fresh = _sums(GENERATED), _sums(tmp_path)
    assert set(fresh) == {name for name in committed if not name.endswith(".ogg")}
    assert {n: committed[n] for n in fresh} == fresh
    for name, digest in committed.items():  # the committed files match their manifest
        assert hashlib.sha256((GENERATED / name).read_bytes()).hexdigest() == digest, name


def test_every_generated_transcript_parses_with_both_roles() -> None:
    transcripts = [p for p in _calls() if p.suffix in TRANSCRIPT_EXT]
    assert len(transcripts) >= 34
    for path in transcripts:
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))
        parsed = parse_transcript(path.read_bytes(), filename=path.name)
        roles = {u.role for u in parsed.utterances}
        assert roles == {"rep", "customer"}, path.name
        assert parsed.language == meta["language"], path.name


def test_every_sidecar_validates_as_call_meta() -> None:
    for path in _calls():
        data = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))
        meta = CallMeta(**data)
        assert meta.rep and meta.team and meta.deal_ref and meta.call_type and meta.occurred_at
        assert meta.occurred_at.utcoffset() is not None


def test_reps_and_teams_match_people_json() -> None:
    people = json.loads((ROOT / "demo_data" / "people.json").read_text(encoding="utf-8"))
    team_of = {rep["email"]: team["name"] for team in people["teams"] for rep in team["reps"]}
    for record in _truth():
        assert team_of.get(record["rep"]) == record["team"], record["file"]


def test_corpus_has_the_variety_later_analytics_need() -> None:
    truth = _truth()
    assert {r["file"] for r in truth} == {p.name for p in _calls()}
    assert len(truth) >= 44
    assert sum(r["language"] == "en" for r in truth) >= 20
    assert sum(r["language"] == "zh" for r in truth) >= 20
    assert len({r["rep"] for r in truth}) >= 6 and len({r["team"] for r in truth}) == 2
    assert {"discovery", "demo", "negotiation", "invitation"} <= {r["call_type"] for r in truth}
    assert {r["scenario"] for r in truth} == {"good", "skipped_qualification", "pitch_before_discovery",
                                             "no_next_step"}
    assert {r["outcome"] for r in truth} == {"advanced", "stalled", "won", "lost"}
    deals: dict[str, int] = {}
    for r in truth:
        deals[r["deal_ref"]] = deals.get(r["deal_ref"], 0) + 1
    assert max(deals.values()) >= 3
    months = {r["occurred_at"][:7] for r in truth}
    assert months == {"2026-09", "2026-10", "2026-11"}


def test_good_path_calls_end_better_than_deviating_ones() -> None:
    def positive_share(records: list[dict]) -> float:
        return sum(r["outcome"] in ("advanced", "won") for r in records) / len(records)

    truth = _truth()
    good = [r for r in truth if r["scenario"] == "good"]
    deviating = [r for r in truth if r["scenario"] != "good"]
    assert positive_share(good) > positive_share(deviating) + 0.2


@pytest.mark.parametrize("path", sorted(GENERATED.glob("*.ogg")), ids=lambda p: p.name)
def test_audio_call_is_small_two_channel_opus(path: Path) -> None:
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        duration_s = container.duration / 1e6
    assert channels == 2
    assert 30 <= duration_s <= 50
    assert path.stat().st_size < 200_000
    assert meta["rep_channel"] == "left" and meta["language"] == "en"
    assert not path.with_suffix(".txt").exists() and not path.with_suffix(".json").exists()


def test_at_least_six_audio_calls_are_committed() -> None:
    assert len(list(GENERATED.glob("*.ogg"))) >= 6


def _load_deals_script():
    spec = importlib.util.spec_from_file_location("make_demo_deals", ROOT / "scripts" / "make_demo_deals.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_demo_deal_histories_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "deal_histories.json"
    _load_deals_script().main(["--out", str(out)])
    assert out.read_bytes() == (ROOT / "demo_data" / "deal_histories.json").read_bytes()


def test_every_demo_call_belongs_to_a_demo_deal_with_a_history() -> None:
    deals = json.loads((ROOT / "demo_data" / "deal_histories.json").read_text(encoding="utf-8"))["deals"]
    by_ref = {d["external_ref"]: d for d in deals}
    sidecars = [p for p in (ROOT / "demo_data").rglob("*.meta.json") if p.parent.name != "audio_scripts"]
    refs = {json.loads(p.read_text(encoding="utf-8"))["deal_ref"] for p in sidecars}
    assert len(sidecars) >= 72 and refs <= set(by_ref)
    assert all(by_ref[ref]["steps"] for ref in refs)  # every called deal has something after its creation
