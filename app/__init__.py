"""Talktrack: conversation intelligence and coaching for B2B sales teams."""
