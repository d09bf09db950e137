"""A development identity provider: a key pair, a JWKS endpoint, tokens for seeded users.

Stands in for the city's OIDC provider on a developer's machine and in tests. The services
only ever see a JWKS URL, an issuer and an audience, exactly as with a real provider.
"""
