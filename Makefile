.PHONY: up test install bench
install:
	scripts/install.sh
up: install
	scripts/up.sh
test: install
	scripts/test.sh
bench: install
	scripts/dev-services.sh >/dev/null && .venv/bin/python bench/run_all.py
