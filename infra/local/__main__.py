"""python -m infra.local up|down|status|infra — used by the Makefile."""

from __future__ import annotations

import sys

from . import proc
from .catalog import ZIPKIN_PORT
from .stack import Stack


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    stack = Stack(zipkin_port=ZIPKIN_PORT)
    if cmd == "up":
        stack.up()
        print(f"Kafka       {stack.kafka.bootstrap} (SASL_SSL)   log: {stack.kafka.log}")
        print(f"            CA: {stack.kafka.ca_file}   passwords: {stack.kafka.credentials.path}")
        print(f"PostgreSQL  127.0.0.1:{stack.postgres_port} and socket {stack.postgres.socket_dir} "
              f"(services: {stack.postgres_transport})   log: {stack.postgres.log}")
        for name in stack.service_ports:
            print(f"{name:<13} {stack.url(name)}   log: {stack.log(name)}")
        if stack.zipkin:
            print(f"Zipkin      http://localhost:{ZIPKIN_PORT}/zipkin/   log: {stack.zipkin.log}")
            print(f"            a trace quoted by staff (X-Trace-Id): "
                  f"http://localhost:{ZIPKIN_PORT}/zipkin/traces/<id>")
    elif cmd == "infra":
        stack.start_infra()
        print(f"Kafka {stack.kafka.bootstrap}, PostgreSQL 127.0.0.1:{stack.postgres_port}, "
              f"Zipkin http://localhost:{ZIPKIN_PORT}/zipkin/")
    elif cmd == "down":
        stack.down()
        print("stopped")
    elif cmd == "status":
        print(f"kafka: {'up' if proc.port_open(stack.kafka_port) else 'down'}")
        print(f"postgres: {'up' if proc.port_open(stack.postgres_port) else 'down'}")
        print(f"zipkin: {'up' if proc.port_open(ZIPKIN_PORT) else 'down'}")
        for name, port in stack.service_ports.items():
            print(f"{name}: {'up' if proc.port_open(port) else 'down'}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
