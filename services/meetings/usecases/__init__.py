"""meetings' use cases: one function per command taking (command, uow, principal, ...), deciding
and auditing on the route's unit of work; reads in `reads`."""
