"""outreach's commands (common.py: what they share)."""
