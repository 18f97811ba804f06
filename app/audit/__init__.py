"""Audit domain: an append-only record of sensitive actions, queryable by admins."""
