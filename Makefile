# Convenience targets; the scripts do the work (and install what is
# missing on Debian).
.PHONY: run test bench fuzz build

run:
	scripts/run.sh

test:
	scripts/test.sh

build:
	go build -tags migrated_fynedo -o .cache/bin/branchline ./cmd/branchline

# Benchmarks for the figures the issues ask for. BENCH_1M=1 builds (once,
# cached under .cache/bench) a database of 1,000,000 messages for the
# inbox and search benchmarks.
bench:
	BENCH_1M=1 go test -run '^$$' -bench . -benchtime 2s ./care/... ./models/

FUZZTIME ?= 3m
fuzz:
	go test ./care/ingest/ -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./care/guidelines/ -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./care/templates/ -run '^$$' -fuzz FuzzRender -fuzztime $(FUZZTIME)
