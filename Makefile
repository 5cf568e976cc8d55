# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is what those two depend on.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEVSTAMP:= $(VENV)/.installed-dev
VENDOR  := callcenter/static/vendor
PORT    ?= 8000

.PHONY: run test install install-dev assets migrate demo lint bench chromium clean ci

run: install assets migrate demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	# honcho gives each process its own PORT counting from -p; web is the Procfile's first line: PORT.
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile -p $(PORT)

test: install-dev assets chromium
	$(BIN)/ruff check callcenter tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev assets
	$(BIN)/python -m bench $(BENCH_ARGS)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEVSTAMP): requirements.txt requirements-dev.txt $(STAMP)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(STAMP)
	$(BIN)/python manage.py compile_translations

install-dev: install $(DEVSTAMP)

# Bootstrap, htmx and ECharts come from the npm registry; only the files the
# pages load are copied into static/, never committed.
$(VENDOR)/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	mkdir -p $(VENDOR)/fonts
	cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css $(VENDOR)/
	cp node_modules/bootstrap-icons/font/fonts/* $(VENDOR)/fonts/
	touch $@

assets: $(VENDOR)/.stamp

migrate: install
	$(BIN)/python manage.py migrate --noinput -v0

demo: migrate
	$(BIN)/python manage.py bootstrap_demo

# Browser tests drive Debian's Chromium; Playwright cannot download browsers here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

lint: install-dev
	$(BIN)/ruff check callcenter tests bench

clean:
	rm -rf $(VENV) node_modules $(VENDOR) staticfiles
