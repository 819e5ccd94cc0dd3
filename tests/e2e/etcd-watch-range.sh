#!/usr/bin/env bash
# etcd-watch-range.sh - the client's watch over a key range [FROM, TO)
# (etcd_watch_new_range, as an agent watches [P/agents/, P/sealed/)),
# driven by `cf-etcd watch --range-end` against a real three-member etcd
# on loopback with TLS: keys inside the range are seen, in order; the
# keys at and past its end, and before its start, are not; an empty end
# watches every key from FROM on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"

if ! etcd_cluster_start; then
	fail "etcd cluster" "three members did not come up healthy"
	e2e_done
fi

# watch_range OUT FROM TO COUNT - a watch in the background until it says
# it is created (10 s at most); its pid in $wpid.
watch_range() {
	: >"$1"
	cfe watch "$2" --range-end "$3" --count "$4" --wait-ms 15000 \
		>"$1" 2>"$1.err" &
	wpid=$!
	wait_until 10 grep -q Created "$1"
}

# events OUT - "TYPE KEY" of each event, comma-separated.
events() {
	jq -rs '[.[] | select(.Type) | "\(.Type) \(.Key)"] | join(",")' "$1"
}

P=/certfleet
watch_range "$T/agents.out" "$P/agents/" "$P/sealed/" 3 ||
	fail "the agents' range watch is created" "$(cat "$T/agents.out.err")"
# The sealed material and a key before the range first: were they seen,
# they would be among the first three events.
cfe put "$P/sealed/ex1/m.example" s >/dev/null
cfe put "$P/aaa" before >/dev/null
cfe put "$P/progress/ex1/m.example" p >/dev/null
cfe put "$P/agents/ex1/live" l >/dev/null
cfe put "$P/ns/m.example/desired" d >/dev/null
if wait "$wpid"; then
	pass "the range watch ends after three events"
else
	fail "the range watch ends after three events" "$(cat "$T/agents.out.err")"
fi
expect_eq "inside the range, in order; not sealed/, not before agents/" \
	"$(events "$T/agents.out")" \
	"PUT $P/progress/ex1/m.example,PUT $P/agents/ex1/live,PUT $P/ns/m.example/desired"

watch_range "$T/open.out" "$P/q" "" 1 ||
	fail "the open-ended watch is created" "$(cat "$T/open.out.err")"
cfe put "$P/progress/ex2/m.example" before-q >/dev/null
cfe put "$P/sealed/ex2/m.example" after-q >/dev/null
if wait "$wpid"; then
	pass "the open-ended watch ends after one event"
else
	fail "the open-ended watch ends after one event" "$(cat "$T/open.out.err")"
fi
expect_eq "an empty end: every key from FROM on, none before it" \
	"$(events "$T/open.out")" "PUT $P/sealed/ex2/m.example"

e2e_done
