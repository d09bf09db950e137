"""meetings' SQL, one module per aggregate."""
