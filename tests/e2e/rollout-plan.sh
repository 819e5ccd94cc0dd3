#!/usr/bin/env bash
# rollout-plan.sh - `certfleet rollout NAMESPACE --certificate THUMB
# --dry-run`: the waves of namespaces of one, two and three real agents
# (counts capped, shares rounded up, waves that add no one dropped),
# --waves and --soak over the namespace's, the source check (a
# certificate the source does not hold is an error naming both), and
# that neither the dry run nor a refused one changes a store
# (get --json of every agent before and after).
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/rollout-plan.sh
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
require_tools "$CERTFLEETD" jq
export CERTFLEET_HOME=$T/home
export CERTFLEET_SOCKET=$T/no-agent.sock
unset CERTFLEET_STORE
F=$T/fleet.json
c() { cf --fleet "$F" "$@"; }

# ---- three agents ----------------------------------------------------------
check "id" cf id --json
ID=$(jq -r .Fingerprint "$OUT")
for n in ex1 ex2 ex3; do
	agent_conf "$n"
	cfd init --config "$T/$n.conf" >/dev/null 2>&1
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	agent_start "$n" || e2e_done
	check "fleet add $n" c fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done
check "a certificate with an exportable key on ex1" \
	c new --self-signed --subject CN=mail.example.com --key p256 --exportable --server ex1 --json
TH=$(jq -r '.Items[0].Thumbprint' "$OUT")
check "a certificate without an exportable key on ex3" \
	c new --self-signed --subject CN=other.example.com --key p256 --server ex3 --json
TH3=$(jq -r '.Items[0].Thumbprint' "$OUT")

# snapshot - every agent's certificates, as get --json says.
snapshot() {
	local n
	for n in ex1 ex2 ex3; do
		c get --server "$n" --json | jq -c '[.Items[] | [.Thumbprint, .Services]]'
	done
}
BEFORE=$(snapshot)

# waves NAMESPACE [OPTIONS...] - the plan as "ex1 | ex2,ex3" (one wave a
# "|"), the exit status in RC.
waves() {
	local ns=$1
	shift
	run c rollout "$ns" --certificate "$TH" --dry-run --json "$@"
	jq -r '[.Waves[] | [.Members[].Server] | join(",")] | join(" | ")' "$OUT" 2>/dev/null
}

check "namespace of one" c namespace add one.example.com --servers ex1
check "namespace of two" c namespace add two.example.com --servers ex1,ex2
check "namespace of three" c namespace add three.example.com --servers ex1,ex2,ex3 \
	--services https,smtp --via 127.0.0.1:9 --waves 1,50%,100% --soak 30s

expect_eq "1,100% of one: one wave" "$(waves one.example.com)" "ex1"
expect_eq "1,100% of two: canary, then the other" "$(waves two.example.com)" "ex1 | ex2"
expect_eq "1,100% of three" "$(waves three.example.com --waves 1,100%)" "ex1 | ex2,ex3"
expect_eq "1,50%,100% of three: 50% rounds up to two" "$(waves three.example.com)" "ex1 | ex2 | ex3"
expect_eq "1,50%,100% of two: the 50% wave adds no one, dropped" \
	"$(waves two.example.com --waves 1,50%,100%)" "ex1 | ex2"
expect_eq "2,100% of one: capped, one wave" "$(waves one.example.com --waves 2,100%)" "ex1"
expect_eq "2,100% of three" "$(waves three.example.com --waves 2,100%)" "ex1,ex2 | ex3"
expect_eq "100% of three: all at once" "$(waves three.example.com --waves 100%)" "ex1,ex2,ex3"

# ---- the plan's other parts, and the overrides --------------------------
waves three.example.com >/dev/null
expect_eq "plan: exit 0" "$RC" 0
expect_eq "plan: the namespace's services, via, soak; source ex1, by password" \
	"$(jq -c '[.Services, .Via, .SoakSeconds, .From, .Transfer, .DryRun, .Certificate == "'"$TH"'"]' "$OUT")" \
	'[["https","smtp"],"127.0.0.1:9",30,"ex1","password",true,true]'
expect_eq "plan: what each member holds now" \
	"$(jq -c '[.Waves[].Members[] | [.Server, .Holds]]' "$OUT")" '[["ex1",true],["ex2",false],["ex3",false]]'
expect_eq "plan: each member's services of the namespace, and what has them now (its own certificate, not TH)" \
	"$(jq -c '[.Waves[].Members[] | [.Now[] | [.Service, (.Thumbprint | type), .Thumbprint != "'"$TH"'"]]] | unique' "$OUT")" \
	'[[["https","string",true],["smtp","string",true]]]'
expect_eq "plan: wave numbers and reaches" "$(jq -c '[.Waves[] | [.Wave, .Reach]]' "$OUT")" \
	'[[1,"1"],[2,"50%"],[3,"100%"]]'
waves three.example.com --soak 5m >/dev/null
expect_eq "--soak 5m over the namespace's 30s" "$(jq .SoakSeconds "$OUT")" 300
check_fails "--waves that do not end at 100% are refused" 2 'the last wave is 100%' \
	c rollout three.example.com --certificate "$TH" --dry-run --waves 1,50%
check_fails "--waves that decrease are refused" 2 'they increase' \
	c rollout three.example.com --certificate "$TH" --dry-run --waves 2,1,100%
check_fails "a bad --soak is refused" 2 'give a duration' \
	c rollout three.example.com --certificate "$TH" --dry-run --soak soon
check "the overrides are not saved" c namespace show three.example.com --json
expect_eq "the namespace keeps its waves and soak" "$(jq -c '[.Waves, .SoakSeconds]' "$OUT")" \
	'[["1","50%","100%"],30]'
check "table: the plan as text" c rollout three.example.com --certificate "$TH" --dry-run
expect_eq "table: a row per member, its wave and what it holds" \
	"$(awk '$3 ~ /^ex/ {print $1, $3, $4}' "$OUT" | paste -sd,)" "1 ex1 yes,2 ex2 no,3 ex3 no"
expect_eq "table: Now names each service and a certificate" \
	"$(awk '$3 ~ /^ex/ {print $5, $7}' "$OUT" | paste -sd,)" "https smtp,https smtp,https smtp"
if grep -q 'dry run, nothing changed' "$OUT" && grep -q 'soak 30s' "$OUT" &&
	grep -q '127.0.0.1:9' "$OUT"; then
	pass "table: says dry run, the soak and the balancer"
else
	fail "table: says dry run, the soak and the balancer" "$(head -3 "$OUT")"
fi

run c rollout three.example.com --certificate "${TH:0:10}" --dry-run --json
expect_eq "a thumbprint prefix: the plan names the full thumbprint" "$RC $(jq -r .Certificate "$OUT")" "0 $TH"

# ---- the source -----------------------------------------------------------
expect_eq "--from ex1: held there, exit 0" \
	"$(waves three.example.com --from ex1 >/dev/null; echo "$RC $(jq -r .From "$OUT")")" "0 ex1"
check_fails "--from ex2: not held there, named with the thumbprint" 1 "ex2: $TH: not held there" \
	c rollout three.example.com --certificate "$TH" --from ex2 --dry-run
check_fails "no member holds it: a clear error" 1 "no server of two.example.com holds $TH3" \
	c rollout two.example.com --certificate "$TH3" --dry-run
check "a key that is not exportable goes sealed" \
	c rollout three.example.com --certificate "$TH3" --dry-run --json
expect_eq "not exportable: source ex3, Transfer sealed" "$(jq -r '"\(.From) \(.Transfer)"' "$OUT")" "ex3 sealed"
check_fails "--from a server the fleet does not know" 2 'nosuch' \
	c rollout three.example.com --certificate "$TH" --from nosuch --dry-run
check_fails "an unknown namespace" 1 'nope.example.com: no such namespace' \
	c rollout nope.example.com --certificate "$TH" --dry-run
jq '(.namespaces[] | select(.name == "two.example.com") | .servers) = []' "$F" >"$T/empty.json"
check_fails "a namespace without servers (hand-edited file): a clear error" 1 \
	'two.example.com: no servers: a namespace needs --servers' \
	cf --fleet "$T/empty.json" rollout two.example.com --certificate "$TH" --dry-run
check_fails "no --certificate" 2 'certificate THUMBPRINT is required' \
	c rollout three.example.com --dry-run
check_fails "--from names one agent" 2 '--from names one agent' \
	c rollout three.example.com --certificate "$TH" --from ex1,ex2 --dry-run

# ---- a member that does not answer ---------------------------------------
read -r -d '' DEAD < <(free_ports 1) || true
check "fleet add down (nothing listens)" c fleet add down "127.0.0.1:$DEAD" \
	--fingerprint "SHA256:$(printf 'AB%.0s' $(seq 32))"
check "namespace with a member that is down" c namespace add down.example.com --servers ex1,down
waves down.example.com >/dev/null
expect_eq "down member: the plan is still printed (exit 0), Holds null" \
	"$RC $(jq -c '[.Waves[].Members[] | [.Server, .Holds]]' "$OUT")" '0 [["ex1",true],["down",null]]'
expect_eq "down member: nothing said of its services" "$(jq -c '.Waves[1].Members[0].Now' "$OUT")" '[]'
expect_eq "down member: its Error says why" "$(jq -r '.Waves[1].Members[0].Error | test("connect")' "$OUT")" true
check "down member: table" c rollout down.example.com --certificate "$TH" --dry-run
expect_eq "down member: table says no answer, stderr names it" \
	"$(awk '$3 == "down" {print $4, $5, $6}' "$OUT") $(grep -c '^certfleet: down: rollout: ' "$ERR")" "no answer - 1"
check_fails "none holds it, one member down: the down one named" 1 \
	"certfleet: down: rollout: .*connect" c rollout down.example.com --certificate "$TH3" --dry-run

# ---- nothing changes --------------------------------------------------------
check_fails "--dry-run with --resume: a usage error" 2 'give one of --resume, --abort and --dry-run' \
	c rollout three.example.com --certificate "$TH" --dry-run --resume
expect_eq "no store changed (get --json of each agent before and after)" "$(snapshot)" "$BEFORE"
if grep -q '"name": *"ex1"' "$F" && ! grep -qi desired "$F"; then
	pass "the fleet file holds no desired state from a dry run"
else
	fail "the fleet file holds no desired state from a dry run"
fi

e2e_done
