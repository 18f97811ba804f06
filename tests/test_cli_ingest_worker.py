"""`talktrack ingest` end to end: real CLI processes and a real Celery worker (filesystem broker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRANSCRIPTS = REPO / "tests" / "fixtures" / "transcripts"


def _run(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], check=False, env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_ingest_uploads_and_a_real_worker_processes_every_file(tmp_path: Path) -> None:
    env = {**os.environ, "TALKTRACK_VAR_DIR": str(tmp_path / "var"), "TALKTRACK_EMBEDDER": "hashing",
           "TALKTRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'talktrack.db'}", "COLUMNS": "200"}
    env.pop("TALKTRACK_BROKER_URL", None)
    assert _run(["init-db"], env).returncode == 0
    created = _run(["users", "create", "admin@example.com", "--role", "admin", "--password", "a-long-password"], env)
    assert created.returncode == 0, created.stdout + created.stderr
    (tmp_path / "calls").mkdir()
    for name in ("en_discovery.vtt", "zh_invite.txt"):
        (tmp_path / "calls" / name).write_bytes((TRANSCRIPTS / name).read_bytes())
    (tmp_path / "calls" / "broken.json").write_text('{"utterances": [{"speaker": "a"}]}')
    result = _run(["ingest", str(tmp_path / "calls")], env)
    # One rejected file makes the exit code 1; the other two are processed by the worker.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count("ready") == 2 and "broken.json" in result.stdout
    status = _run(["status"], env)
    assert status.returncode == 0 and status.stdout.count("ready") == 2
    log = (tmp_path / "var" / "worker.log").read_text()
    assert "Task transcript.parse[" in log and "Task embed.utterances[" in log and "Task sop.match[" in log
    assert "Task asr.transcribe[" not in log, "transcripts skip speech recognition"


def test_cli_errors_are_one_readable_line(tmp_path: Path) -> None:
    env = {**os.environ, "TALKTRACK_VAR_DIR": str(tmp_path / "var"),
           "TALKTRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'talktrack.db'}"}
    result = _run(["status", "12345"], env)
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    missing = _run(["ingest", str(tmp_path / "nope")], env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_a_malformed_setting_is_named_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "TALKTRACK_VAR_DIR": str(tmp_path / "var"),
           "TALKTRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'talktrack.db'}",
           "TALKTRACK_SOP_REVIEW_REMATCH_AFTER": "five"}
    result = _run(["users", "list"], env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "TALKTRACK_SOP_REVIEW_REMATCH_AFTER='five'" in result.stderr and "valid integer" in result.stderr
    env.pop("TALKTRACK_SOP_REVIEW_REMATCH_AFTER")
    sop, transcript = REPO / "sop_definitions" / "b2b-discovery.en.yaml", REPO / "tests/fixtures/transcripts/en_discovery.txt"
    bad_json = _run(["sop", "match", "--sop", str(sop), "--transcript", str(transcript)],
                    {**env, "TALKTRACK_MATCH_EMBEDDERS": "{en: e5"})
    assert bad_json.returncode == 1 and "Traceback" not in bad_json.stderr
    assert "TALKTRACK_MATCH_EMBEDDERS" in bad_json.stderr and "dictionary" in bad_json.stderr
