"""Transcripts: formats in and out, turns, speaker roles and conversation metrics."""
