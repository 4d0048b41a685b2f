# The two commands a newcomer needs: `make run` (the local stack) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_REQUIREMENTS := $(wildcard functions/requirements/*.txt)
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt $(RUNTIME_REQUIREMENTS) pyproject.toml | cksum | cut -d' ' -f1)

CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := .venv-checkov/.installed-$(CHECKOV_VERSION)

.PHONY: install run test unit integration e2e bench soak lint format validate checkov clean asl \
	browser screenshots

$(STAMP): requirements-dev.txt $(RUNTIME_REQUIREMENTS) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The sent messages are what it prints; the functions' logs too with LOG_LEVEL=INFO, and
# moto's own (its interpreter's handled failures, its server's tracebacks) with LOG_LEVEL=DEBUG.
# Template parameters as sam deploy takes them: PARAMETERS="WorkflowType=EXPRESS PipeBatchSize=5".
LOG_LEVEL ?= WARNING
run: install
	LOG_LEVEL=$(LOG_LEVEL) $(BIN)/python -m emulator $(PARAMETERS)

# The three installs first, side by side (two pip venvs and apt's browser: about 50 s each
# alone on a fresh machine), then the checks and the tests, one after another.
test:
	$(MAKE) -j3 install $(CHECKOV_STAMP) browser
	$(MAKE) lint checkov unit integration e2e

unit: install
	$(BIN)/pytest tests/unit -q -n 2

# Each test process runs its own local stack (moto server on a free loopback port).
integration: install
	$(BIN)/pytest tests/integration -q -n 2 -p no:logging

# A running local stack (API on a free port, pipe thread) driven over HTTP and the CLI;
# each test process runs its own. The web console's tests drive a real browser (browser:).
e2e: install browser
	$(BIN)/pytest tests/e2e -q -n 2 -p no:logging

# Debian's chromium and chromium-driver, for the web console's browser tests and screenshots:
# installed when missing (CI runs as root). Where they cannot be, this says why and the browser
# tests are skipped with that reason; with CI set they fail instead.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	why=""; \
	if ! command -v apt-get >/dev/null; then why="no apt-get on this machine"; \
	elif [ "$$(id -u)" != 0 ]; then why="not root (run: sudo apt-get install -y chromium chromium-driver)"; \
	else echo "installing chromium and chromium-driver for the browser tests ..."; \
		{ apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; } \
			|| why="apt-get install chromium chromium-driver failed (see above)"; fi; \
	if [ -n "$$why" ]; then echo "make browser: cannot install chromium: $$why;" \
		"the web console's browser tests will be skipped."; fi

# docs/images/console-*.png: each console page from a local stack of its own, by headless Chromium.
screenshots: install browser
	$(BIN)/python -m emulator.web_console.screenshots

# Latency, throughput, loss and transitions of the local stack (the table in docs/local-stack.md).
bench: install
	$(BIN)/python -m emulator.bench $(PARAMETERS)

# 50 requests x 20 recipients, half the calls throttled, stopped executions, a poisoned
# request, then the DLQ redriven: lost, sent twice, dead-lettered but sent, traces RUNNING.
soak: install
	$(BIN)/python -m emulator.soak

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `sam validate --lint` works offline; SAM CLI lives in its own venv (its pins clash).
# statemachine/job.asl.json: the job's Distributed Map around delivery.asl.json's steps.
asl: install
	$(BIN)/python statemachine/compose.py

validate:
	$(PYTHON) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet aws-sam-cli==1.170.0
	.venv-sam/bin/sam validate --lint --region us-east-1

# checkov on template.yaml: every failed check is fixed or skipped with its reason beside the
# resource (`# checkov:skip=ID:why`), so any new failure fails the build. Its own venv (its pins
# clash with ours), pinned so a new release's checks arrive by choice: ~30 s to install once,
# ~5 s a run, cheap enough for `make test` on CI's two cores.
$(CHECKOV_STAMP):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	rm -f .venv-checkov/.installed-*
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)
	.venv-checkov/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

clean:
	rm -rf $(VENV) .venv-sam .venv-checkov .aws-sam .pytest_cache .ruff_cache
