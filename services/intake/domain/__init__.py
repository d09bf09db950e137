"""intake's rules, free of I/O: consultations, persons and households, consents, matching."""
