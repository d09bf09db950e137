"""intake's SQL, one module per aggregate."""
