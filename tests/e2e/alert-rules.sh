#!/usr/bin/env bash
# alert-rules.sh - the Prometheus alerting rules certfleet ships
# (packaging/prometheus/certfleet-alerts.yml) are valid for promtool and
# pass their unit tests (certfleet-alerts.test.yml): each alert fires
# where it should and stays silent where it should.  And the checks can
# fail: a broken copy of the rules fails `promtool check rules`, and
# copies with a threshold or a filter changed fail the unit tests.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

require_tools promtool
RULES=$E2E_ROOT/packaging/prometheus/certfleet-alerts.yml
TESTS=$E2E_ROOT/packaging/prometheus/certfleet-alerts.test.yml

# ---- the shipped rules ----------------------------------------------------
check "check rules: the shipped rules are valid" promtool check rules "$RULES"
if grep -q "SUCCESS: 4 rules found" "$OUT"; then
	pass "check rules: four rules (warning, critical, mismatch, probe)"
else
	fail "check rules: four rules (warning, critical, mismatch, probe)"
	show "$OUT"
fi
check "test rules: every alert fires and stays silent as its tests say" \
	promtool test rules "$TESTS"

# ---- negatives: the checks can fail ----------------------------------------

# mutant NAME SED-EXPRESSION - a copy of the rules with one change, and the
# unit tests beside it, in $T/NAME/.
mutant() {
	mkdir -p "$T/$1"
	sed "$2" "$RULES" >"$T/$1/certfleet-alerts.yml"
	cp "$TESTS" "$T/$1/"
	if cmp -s "$RULES" "$T/$1/certfleet-alerts.yml"; then
		fail "mutant $1: the change applies" "sed '$2' changed nothing"
	fi
}

mutant broken 's/< 1\/3/< (1\/3/'
check_fails "check rules: a parse error in an expression fails" 1 "parse error|unclosed|could not parse|expected" \
	promtool check rules "$T/broken/certfleet-alerts.yml"
mutant nofor 's/for: 10m/for: ten minutes/'
check_fails "check rules: a bad duration fails" 1 "duration|unmarshal|not a valid" \
	promtool check rules "$T/nofor/certfleet-alerts.yml"

# mutant_fails NAME WHY - its unit tests must fail.
mutant_fails() {
	run promtool test rules "$T/$1/certfleet-alerts.test.yml"
	if [ "$RC" -ne 0 ] && cat "$OUT" "$ERR" | grep -q FAILED; then
		pass "test rules: $2"
	else
		fail "test rules: $2" "exit $RC"
		show "$OUT"
	fi
}
mutant half 's/< 1\/3/< 1\/2/'
mutant_fails half "warning at a half instead of a third fails"
mutant fifth 's/< 1\/6/< 1\/5/'
mutant_fails fifth "critical at a fifth instead of a sixth fails"
mutant unused 's/{services!=""}//g'
mutant_fails unused "paging for certificates no service uses fails"
mutant probe '/unless certfleet_service_probe_success == 0/d'
mutant_fails probe "a mismatch alert for a failed probe fails"
mutant wait 's/for: 5m/for: 1m/'
mutant_fails wait "a probe alert after one minute fails"

e2e_done
