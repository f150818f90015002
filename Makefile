# Thin wrappers over scripts/bootstrap.sh, the `hellohome` CLI and pytest.
HH := .venv/bin/hellohome

.PHONY: bootstrap up down demo status test lint bench

bootstrap:
	@bash scripts/bootstrap.sh

up: bootstrap          ## the main job: start the stack, migrate, load the real data, show what is where
	$(HH) up

demo: up

down:
	$(HH) down

status:
	$(HH) stack status

test: bootstrap        ## every test, against real services the fixtures start (and stop)
	.venv/bin/pytest

lint: bootstrap
	.venv/bin/ruff check include consumers serving dags plugins bench tests

bench: bootstrap
	.venv/bin/python -m bench.ingest
