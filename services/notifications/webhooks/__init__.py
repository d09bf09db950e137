"""Webhooks: the divisions' own systems hear events as signed CloudEvents over HTTPS."""
