"""The plumbing every service uses, written once: settings, database, migrations, unit of
work with its outbox, the relay, the inbox consumer, tracing, logs, metrics, health, errors."""
