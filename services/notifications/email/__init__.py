"""E-mail: each inbox item also reaches its recipients' mailboxes, when they have an address."""
