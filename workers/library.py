"""Background job `library.update`: after a call is ready (call_id) or after deletions (no call_id)."""

from __future__ import annotations

import logging

from workers.stage import TRANSIENT

log = logging.getLogger(__name__)


def update_library(call_id: int | None = None) -> bool:
    """Re-cut the call's snippets and refresh scores, clips, talk tracks and the index.

    Never fails the call (it is already ready): errors are logged; transient ones retry.
    """
    from app.library import refresh

    try:
        refresh.update(call_id)
    except TRANSIENT:
        raise
    except Exception:
        log.exception("library.update_failed call_id=%s", call_id)
        return False
    return True



def refresh_library() -> bool:
    """Library-wide refresh (coalesced: requested by `library.update`, see app/library/refresh.py)."""
    from app.library import refresh

    try:
        refresh.refresh()
    except TRANSIENT:
        raise
    except Exception:
        log.exception("library.refresh_failed")
        return False
    return True
