"""Sub-commands of domains beyond the core: (name, module, Typer attribute)."""

SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("sop", "app.sop.cli", "sop_app"),
    ("eval", "app.sop.eval_cli", "eval_app"),
    ("deals", "app.deals.cli", "deals_app"), ("pipeline", "app.deals.cli", "pipeline_app"),
    ("users", "app.users.cli", "users_app"),
    ("retention", "app.privacy.cli", "retention_app"),
    ("search", "app.library.cli", "search_app"), ("talk-tracks", "app.library.cli", "talk_tracks_app"),
]
