"""Clip, snippet and talk-track library: hybrid keyword + vector search (see index.py, text.py)."""
