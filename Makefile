# The two commands for a fresh machine: `make up` and `make test` (see README.md).
PY := .venv/bin/python
BENCH ?=

.PHONY: up down status bootstrap infra test lint typecheck unit schemas bench chaos token division deadletters

up: bootstrap  ## install what is missing, start Kafka, PostgreSQL and every service
	$(PY) -m infra.local up

down:  ## stop everything `make up` started
	@if [ -x $(PY) ]; then $(PY) -m infra.local down; fi

status:
	$(PY) -m infra.local status

bootstrap:
	@bash infra/bootstrap.sh

infra: bootstrap  ## Kafka and PostgreSQL only, for running one service by hand
	$(PY) -m infra.local infra

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy

test: bootstrap lint  ## the whole suite; fixtures start their own Kafka and PostgreSQL
	$(PY) -m pytest -q

schemas: bootstrap  ## regenerate contracts/schemas and contracts/asyncapi.yaml after changing an event
	$(PY) -m contracts.generate

token:  ## print a bearer token for a seeded user: make token USER=w-kaigo
	@$(PY) -m infra.idp token $(USER)

deadletters:  ## make deadletters SERVICE=referral [REPLAY=id|all] [DISCARD=id REASON=…] [PARKED=1] [REQUEUE=seq|all]
	@$(PY) -m infra.local.mending $(SERVICE) $(if $(REPLAY),--replay $(REPLAY)) \
		$(if $(DISCARD),--discard $(DISCARD) --reason "$(REASON)") $(if $(PARKED),--parked) \
		$(if $(REQUEUE),--requeue $(REQUEUE))

division:  ## register a division's system (make up running): make division NAME=kaigo TYPES="ReferralRequested DirectoryChanged" [MEMBER_BODY=1]
	$(PY) -m infra.local.divisions register $(NAME) --types $(TYPES) $(if $(MEMBER_BODY),--member-body)

bench: bootstrap  ## benchmarks, with raw baselines measured in the same run
	$(PY) -m bench $(BENCH)

chaos: bootstrap  ## fault campaign on a stack of its own (~3 min; CHAOS_SECONDS=1200 for 20)
	$(PY) -m bench.chaos
