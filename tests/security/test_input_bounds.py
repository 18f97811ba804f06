"""Every text input in the OpenAPI schema has a length bound (query, path, form and JSON fields alike)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# Bounded by their format or by the parser, not by maxLength.
BOUNDED_FORMATS = {"date-time", "date", "time", "binary", "uuid", "email"}
DECIMAL_PATTERN = r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$"  # pydantic Decimal: bounded by the body limit
# Offenders in other domains when this test was written (reported to their owners). Remove an
# entry once it is fixed; anything new that is unbounded fails here automatically.
KNOWN_UNBOUNDED = frozenset({
    "GET /api/v1/clips tag", "GET /api/v1/clips folder", "GET /api/v1/clips kind", "GET /api/v1/clips language",
    "GET /api/v1/clips step",
    "GET /api/v1/deals process_id", "GET /api/v1/deals stage_id", "GET /api/v1/deals/export headers",
    "GET /api/v1/followups/effective-new target_per_week",
    "GET /api/v1/library/search outcome", "GET /api/v1/library/search q", "GET /api/v1/library/search step",
    "GET /api/v1/library/search topic", "GET /api/v1/library/search type[]",
    "GET /api/v1/library/search type[] (no maxItems)",
    "GET /api/v1/snippets step", "GET /api/v1/snippets topic",
    "GET /api/v1/sops/{sop_id} sop_id", "GET /api/v1/sops/{sop_id}/diff sop_id",
    "GET /api/v1/sops/{sop_id}/versions sop_id",
    "GET /api/v1/talk-tracks kind", "GET /api/v1/talk-tracks step", "GET /api/v1/talk-tracks topic",
    "PATCH /api/v1/deals/{deal_id} body.currency", "POST /api/v1/deals body.currency",
    "POST /api/v1/deals/convert-lead body.currency",
    "POST /api/v1/playlists/{playlist_id}/items/from-search body.language",
    "POST /api/v1/playlists/{playlist_id}/items/from-search body.outcome",
    "POST /api/v1/playlists/{playlist_id}/items/from-search body.step",
    "POST /api/v1/playlists/{playlist_id}/items/from-search body.topic",
    "PUT /api/v1/pipeline/targets body.currency", "PUT /api/v1/pipeline/targets body.value",
})


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _unbounded(schema: dict[str, Any], spec: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    ref = schema.get("$ref")
    if ref in seen:
        return []
    seen = seen | ({ref} if ref else set())
    schema = _resolve(schema, spec)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += _unbounded(option, spec, where, seen)
    if schema.get("type") == "string" and "maxLength" not in schema and "enum" not in schema \
            and "const" not in schema and schema.get("format") not in BOUNDED_FORMATS \
            and "contentMediaType" not in schema and schema.get("pattern") != DECIMAL_PATTERN:
        found.append(where)
    if schema.get("type") == "array":
        if "maxItems" not in schema:
            found.append(f"{where}[] (no maxItems)")
        found += _unbounded(schema.get("items", {}), spec, f"{where}[]", seen)
    for name, prop in schema.get("properties", {}).items():
        found += _unbounded(prop, spec, f"{where}.{name}", seen)
    return found


def test_every_text_input_is_length_bounded(client: TestClient) -> None:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    problems: list[str] = []
    operations = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            operations += 1
            label = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if param["in"] in ("query", "path", "header", "cookie"):
                    problems += _unbounded(param.get("schema", {}), spec, f"{label} {param['name']}", set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                problems += _unbounded(media.get("schema", {}), spec, f"{label} body", set())
    assert operations >= 15
    problems = sorted(set(problems) - KNOWN_UNBOUNDED)
    assert not problems, "unbounded text inputs (add max_length / max_items):\n" + "\n".join(problems)
