"""Routers of the domains beyond the core, mounted by create_app() (one line each)."""

ROUTERS: list[str] = [
    "app.audit.router",
    "app.privacy.router",
    "app.sop.router",
]
