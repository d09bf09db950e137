"""One module per producing pillar; one frozen model per event type, named in the past tense."""
