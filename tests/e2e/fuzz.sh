#!/usr/bin/env bash
# fuzz.sh - a short libFuzzer run of every harness in tests/fuzz (the
# API handler, the agent configuration, the fleet file, the CLI's reading
# of agent replies, sealed transfers, request complete, haproxy's runtime
# API, certificate files and what servers send a probe), built with ASan
# and UBSan: CF_FUZZ_SECONDS each (default 4), so `make test` stays
# quick; `make fuzz` runs them for longer.  The regression seeds in
# tests/fuzz/corpus run first.  A crash, leak, sanitizer report or hang
# fails it, naming the reproducer.  The harnesses build and run a job per
# core (FUZZ_PARALLEL): each still fuzzes for its CF_FUZZ_SECONDS.
set -u
cd "$(dirname "$0")/../.." || exit 1
FUZZ_PARALLEL=${FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 1)} \
	exec tests/fuzz/run.sh -q "${CF_FUZZ_SECONDS:-4}"
