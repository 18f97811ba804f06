"""SOP domain: definitions, loading/validation, matching a call against an SOP, and comparison."""
