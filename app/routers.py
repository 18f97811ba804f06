"""Routers of the domains beyond the core, mounted by create_app() (one line each)."""

ROUTERS: list[str] = [
    "app.deals.router", "app.deals.accounts_router", "app.deals.pipeline_router", "app.deals.followups_router",
    "app.audit.router",
    "app.privacy.router",
    "app.sop.router",
    "app.transcripts.metrics_router",
    "app.library.router",
    "app.web.router",
]
