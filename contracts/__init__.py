"""The shared vocabulary between services: event models, their envelope and their registry.

Nothing else is shared between services. See README.md, "Events".
"""
