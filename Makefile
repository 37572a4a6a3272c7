# The two commands of the README contract: `make test` and `make run`. Each installs what it
# needs (idempotently) and brings up / tears down the local stack (infra/local/stack.sh).
SHELL := /bin/bash
STACK := infra/local/stack.sh
DEMO_PG_DATA ?= $(or $(TMPDIR),/tmp)/platform-demo-$(shell id -u)-$(shell echo $(CURDIR) | cksum | cut -d' ' -f1)/pg

.PHONY: help install test run console screenshots check fmt lint functions-listed nextest infra-validate migrate bench chaos build deploy

help:
	@echo "make test     install what is missing, start the stack, fmt + clippy + all tests + SAM validation"
	@echo "make run      the main job end to end on local defaults (sandbox, moto, PostgreSQL, cargo lambda)"
	@echo "make console  the operator console on http://127.0.0.1:8080 over the demo warehouse of make run (sign-in: the sandbox's identity provider)"
	@echo "make screenshots  the console's pages as PNGs in docs/screenshots/ (headless Chromium)"
	@echo "make migrate  apply migrations to DATABASE_URL"
	@echo "make bench    intake (50,000 submissions), dedupe, suggestion quality, MeetMax sync (1,000 registrations at 20 req/s), connectors (50,000 Aventri attendees), Lenos (register latency, 50,000 persons), leads (10,000 across 50 integrations), export (1,000,000 leads x 20 columns beside rust_xlsxwriter alone and a Python peer), cold start and size of every function beside a hello-world; BENCH_QUICK=1 for a tenth"
	@echo "make chaos    the whole pipeline under seeded faults (SEEDS=20, FIRST_SEED=1): target/bench/chaos.json, goal 0 violations"
	@echo "make build    deploy artifacts: cargo lambda build --release --arm64, one function at a time"
	@echo "make deploy   make build, then sam deploy --guided of its artifacts"

install:
	$(STACK) install

test: install
	$(STACK) exec $(MAKE) --no-print-directory check

# Everything `make test` checks, against the stack that `$(STACK) exec` started.
check: fmt lint functions-listed nextest infra-validate

fmt:
	cargo fmt --all --check

lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings

# Every name `make build` and `make bench` pass to cargo as a function is a package of the workspace.
functions-listed:
	@for f in $(FUNCTIONS); do cargo pkgid --quiet --locked "$$f" >/dev/null || { echo "functions/$$f is not a package" >&2; exit 1; }; done

nextest:
	cargo nextest run --workspace --locked --profile ci

infra-validate:
	cd infra && sam validate --region us-east-1 -t template.yaml
	cd infra && sam validate --lint --region us-east-1 -t template.yaml
	cfn-lint infra/template.yaml
	python3 infra/local/check_template.py infra/template.yaml

run:
	STACK_NO_SAM=1 STACK_NO_OFFICE=1 STACK_NO_BROWSER=1 $(STACK) install
	STACK_PG_DATA=$(DEMO_PG_DATA) $(STACK) exec infra/local/demo.sh

console:
	STACK_NO_SAM=1 STACK_NO_OFFICE=1 STACK_NO_BROWSER=1 $(STACK) install
	STACK_PG_DATA=$(DEMO_PG_DATA) $(STACK) exec infra/local/console.sh

# The console's pages as PNGs in docs/screenshots/ (headless Chromium over a demo warehouse).
screenshots: install
	cargo build -p integration-tests --bin console-screenshots
	$(STACK) exec target/debug/console-screenshots docs/screenshots

migrate:
	@test -n "$$DATABASE_URL" || { echo "DATABASE_URL is required" >&2; exit 1; }
	cargo run --quiet -p platform-warehouse --bin warehouse-migrate

bench: install
	$(STACK) install-peers
	cargo build --release -p platform-bench --bin bench-intake --bin bench-dedupe --bin dedupe-quality --bin bench-meetmax --bin bench-connectors --bin bench-lenos --bin bench-leads --bin bench-export --bin bench-console --bin bench-cold-start --bin bench-summary
	for f in $(FUNCTIONS) hello-lambda; do cargo build --release -p $$f || exit 1; done
	rustup target add aarch64-unknown-linux-gnu
	for f in $(FUNCTIONS) hello-lambda; do PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --arm64 -p $$f || exit 1; done
	$(STACK) exec target/release/bench-intake $(BENCH_ARGS)
	$(STACK) exec target/release/bench-dedupe
	$(STACK) exec target/release/bench-meetmax
	$(STACK) exec target/release/bench-connectors
	$(STACK) exec target/release/bench-lenos
	$(STACK) exec target/release/bench-leads
	$(STACK) exec target/release/bench-export
	$(STACK) exec target/release/bench-console
	$(STACK) exec target/release/bench-cold-start
	target/release/dedupe-quality
	target/release/bench-summary

# The whole pipeline under seeded faults, PostgreSQL restarted mid-run included (it runs alone:
# the restart would disturb other tests). SEEDS seeds from FIRST_SEED.
SEEDS ?= 20
FIRST_SEED ?= 1
chaos: install
	cargo build -p platform-bench --bin chaos
	SEEDS=$(SEEDS) FIRST_SEED=$(FIRST_SEED) $(STACK) exec target/debug/chaos

# The function packages: the directories under functions/ (not functions/link.rs, their build script).
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))

# One build per function: each is built with only the features of the crates it uses (a
# build of several packages at once would link every function with the union of them).
build: install
	rustup target add aarch64-unknown-linux-gnu
	for f in $(FUNCTIONS); do PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --arm64 -p $$f || exit 1; done

# The template's CodeUri are the artifacts of `make build` (no `sam build`: SAM's cargo-lambda
# builder builds from the workspace root, which links every function with every feature).
deploy: build
	cd infra && PATH="$(CURDIR)/.venv-sam/bin:$(CURDIR)/.venv/bin:$$PATH" sam deploy --guided --template-file template.yaml
