"""Privacy domain: find and redact PII (phones, emails, Chinese IDs, bank cards, amounts) in transcripts."""
