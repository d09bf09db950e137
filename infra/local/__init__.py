"""Start and stop the local stack (Kafka, PostgreSQL, services) from the project's own files.

Used by `make up` / `make down` and by the test fixtures, so both run the same code.
"""
