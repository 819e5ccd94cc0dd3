#!/usr/bin/env bash
# registry.sh - `certfleet registry set|show|export|import` against a real
# three-member etcd cluster on loopback with TLS and RBAC (etcd-lib.sh):
# a fleet of two agents, a group and namespaces (one with a desired
# certificate and a finished rollout) goes to etcd in one transaction and
# back into an empty fleet file elsewhere, equal; and each way of failing
# (etcd down, a wrong password, a user without rights, a prefix that is
# not empty, a malformed value) is a clear error that changes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"

require_tools jq sha256sum python3
if ! etcd_cluster_start --rbac; then
	fail "etcd cluster" "three members did not come up healthy"
	e2e_done
fi
pass "etcd cluster: three members with TLS and RBAC"

# The CLI's own etcd user, with readwrite on /certfleet/ and nothing else.
(umask 077 && openssl rand -hex 12 >"$T/admin.pw")
if ! {
	etcd_ctl role add cf-admin &&
		etcd_ctl role grant-permission cf-admin --prefix=true readwrite /certfleet/ &&
		etcd_ctl user add cf-admin --new-user-password "$(cat "$T/admin.pw")" &&
		etcd_ctl user grant-role cf-admin cf-admin
} >"$T/rbac.log" 2>&1; then
	fail "etcd user cf-admin" "etcdctl failed"
	show "$T/rbac.log"
	e2e_done
fi
export CFE_USER=root

A() { CERTFLEET_HOME=$T/a cf "$@"; }
B() { CERTFLEET_HOME=$T/b cf "$@"; }
mkdir -p "$T/a" "$T/b" && chmod 700 "$T/a" "$T/b"
fp() { printf 'SHA256:%s' "$(printf "$1%.0s" $(seq 64))"; }
T_OLD=1111111111111111111111111111111111111111
T_NEW=2222222222222222222222222222222222222222
PKI=(--ca "$ETCD_PKI/ca.pem" --cert "$ETCD_PKI/client.pem"
	--key "$ETCD_PKI/client.key")
sum() { sha256sum "$1" | cut -d' ' -f1; }
# etcd_keys - the keys under /certfleet/, comma-joined (as root).
etcd_keys() {
	cfe get /certfleet/ --prefix --keys-only |
		jq -rs '[.[] | select(.Key) | .Key] | join(",")'
}
etcd_rev() { cfe get /certfleet/ --prefix | jq -rs '.[-1].Revision'; }
# valid NAME SCHEMA - the last output is valid against SCHEMA of
# docs/json.md.
valid() {
	if python3 "$E2E_ROOT/tests/e2e/json-schema.py" "$E2E_ROOT/docs/json.md" \
		"$2" "$OUT" 2>"$T/why"; then
		pass "$1"
	else
		fail "$1" "not valid against schema $2 of docs/json.md"
		show "$T/why"
	fi
}

# --- the fleet on the file registry ----------------------------------------
check "fleet add ex1" A fleet add ex1 127.0.0.1:9001 --fingerprint "$(fp 1)"
check "fleet add ex2" A fleet add ex2 127.0.0.1:9002 --fingerprint "$(fp 2)"
check "group web" A fleet group add web ex1,ex2
check "namespace mail.example.com" A namespace add mail.example.com \
	--servers @web --services https,smtp --via 127.0.0.1:9443 --soak 30s \
	--issuer acme:le --key p384
check "namespace www.example.com" A namespace add www.example.com --servers ex1
# A desired certificate and a finished rollout, as `rollout` leaves them.
jq --arg new "$T_NEW" --arg old "$T_OLD" '
	.namespaces[0].desired = $new |
	.namespaces[0].rollout = {state: "done", certificate: $new,
		previous: $old, from: "ex1", waves: ["1", "100%"], soak: 30,
		wave: 2, nwaves: 2, started: 1, updated: 2,
		members: [{name: "ex1", wave: 1, state: "moved", at: 2},
			{name: "ex2", wave: 2, state: "moved", at: 2}]}' \
	"$T/a/fleet.json" >"$T/a/fleet.new" && mv "$T/a/fleet.new" "$T/a/fleet.json"
check "the namespace holds its desired state" A namespace show mail.example.com --json

# --- registry set and show ----------------------------------------------------
check "registry show: file by default" A registry show --json
expect_eq "a fleet file without a registry is the file registry" \
	"$(jq -r .Type "$OUT")" file
check_fails "registry set etcd with http://" 2 "https://HOST:PORT" \
	A registry set etcd --endpoints http://127.0.0.1:1 "${PKI[@]}"
(umask 022 && cp "$T/admin.pw" "$T/open.pw" && chmod 644 "$T/open.pw")
check_fails "a password file others can read refused" 1 "chmod 600" \
	A registry set etcd --endpoints "$ETCD_ENDPOINTS" "${PKI[@]}" \
	--user cf-admin --password-file "$T/open.pw"
check_fails "a password in argv refused" 2 "never taken from the command line" \
	A registry set etcd --endpoints "$ETCD_ENDPOINTS" "${PKI[@]}" \
	--user cf-admin --password "$(cat "$T/admin.pw")"
check_fails "a user without a password file refused" 2 "go together" \
	A registry set etcd --endpoints "$ETCD_ENDPOINTS" "${PKI[@]}" --user cf-admin
expect_eq "refused settings leave the file registry" \
	"$(jq -r '.registry.type // "none"' "$T/a/fleet.json")" none
check "registry set etcd" A registry set etcd --endpoints "$ETCD_ENDPOINTS" \
	"${PKI[@]}" --user cf-admin --password-file "$T/admin.pw"
check "registry show" A registry show
if grep -qF "$(cat "$T/admin.pw")" "$OUT" "$T/a/fleet.json"; then
	fail "no password shown or stored" "the password is in show's output or the fleet file"
else
	pass "no password shown or stored"
fi
check "registry show --json" A registry show --json
valid "registry show --json: its schema" registry-show
expect_eq "show: etcd, the endpoints, the password file's path, the prefix" \
	"$(jq -r '[.Type, (.Endpoints | join(",")), .User, .PasswordFile, .Prefix] | join(" ")' "$OUT")" \
	"etcd $ETCD_ENDPOINTS cf-admin $T/admin.pw /certfleet"

# --- export ---------------------------------------------------------------------
check "registry export --to etcd" A registry export --to etcd --json
valid "registry export --json: its schema" registry-move
expect_eq "export says what it wrote" \
	"$(jq -c '[.Agents, .Groups, .Namespaces, .Prefix]' "$OUT")" '[2,1,2,"/certfleet"]'
expect_eq "etcd holds the keys" "$(etcd_keys)" \
	"/certfleet/agents/ex1,/certfleet/agents/ex2,/certfleet/groups/web,/certfleet/ns/mail.example.com/desired,/certfleet/ns/mail.example.com/spec,/certfleet/ns/www.example.com/spec"
expect_eq "an agent's value" \
	"$(cfe get /certfleet/agents/ex2 | jq -r 'select(.Key) | .Value | fromjson | "\(.address) \(.fingerprint)"')" \
	"127.0.0.1:9002 $(fp 2)"
expect_eq "the desired state's value" \
	"$(cfe get /certfleet/ns/mail.example.com/desired | jq -r 'select(.Key) | .Value | fromjson | "\(.thumbprint) \(.previous) \(.rollout.state)"')" \
	"$T_NEW $T_OLD done"
expect_eq "the spec's value" \
	"$(cfe get /certfleet/ns/mail.example.com/spec | jq -c 'select(.Key) | .Value | fromjson')" \
	'{"issuer":{"account":"le","challenge":"http-01","key":"p384","type":"acme"},"servers":["@web"],"services":["https","smtp"],"soak":30,"via":"127.0.0.1:9443","waves":["1","100%"]}'

rev=$(etcd_rev)
check_fails "export over a prefix that holds a fleet refused" 1 \
	"holds agents, groups or namespaces already.*nothing written.*--force" \
	A registry export --to etcd
expect_eq "the refused export wrote nothing (revision)" "$(etcd_rev)" "$rev"

# --force replaces: the namespace removed from the file goes from etcd.
# (On the file registry: with etcd set, namespace remove acts on etcd.)
check "registry set file: commands act on the file" A registry set file
check "namespace remove www.example.com, from the file" A namespace remove www.example.com
expect_eq "etcd still holds it" "$(etcd_keys | tr ',' '\n' | grep -c www)" 1
check "export --force" A registry export --to etcd --force --json
expect_eq "export --force deleted the stale namespace" \
	"$(jq -r .Deleted "$OUT") $(etcd_keys | tr ',' '\n' | grep -c www)" "1 0"
check "registry set etcd again (the settings kept)" A registry set etcd

# A user without write on the prefix (agent-a reads /certfleet/ns/ only).
cp -a "$T/a" "$T/c"
C() { CERTFLEET_HOME=$T/c cf "$@"; }
check "registry set etcd as agent-a" C registry set etcd --user agent-a \
	--password-file "$ETCD_PKI/agent-a.pw"
rev=$(etcd_rev)
check_fails "export without the right to write refused" 1 \
	"permission denied.*nothing changed" C registry export --to etcd --force
expect_eq "the refused export wrote nothing (revision)" "$(etcd_rev)" "$rev"

# --- import into another CERTFLEET_HOME ---------------------------------------
check "registry set etcd in the second home" B registry set etcd \
	--endpoints "$ETCD_ENDPOINTS" "${PKI[@]}" --user cf-admin \
	--password-file "$T/admin.pw" --prefix /certfleet
check "registry import --from etcd" B registry import --from etcd --json
valid "registry import --json: its schema" registry-move
expect_eq "import says what it read" \
	"$(jq -c '[.Agents, .Groups, .Namespaces]' "$OUT")" '[2,1,1]'
for what in "fleet list" "fleet group list" "namespace list" \
	"namespace show mail.example.com"; do
	# shellcheck disable=SC2086
	a=$(A $what --json | jq -S .) b=$(B $what --json | jq -S .)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		pass "equal after the round trip: $what --json"
	else
		fail "equal after the round trip: $what --json" "they differ"
		diff <(echo "$a") <(echo "$b") | head -n 8 | sed 's/^/    | /'
	fi
done
expect_eq "the fleet files hold the same agents, groups and namespaces" \
	"$(jq -S '[.servers, .groups, .namespaces]' "$T/b/fleet.json")" \
	"$(jq -S '[.servers, .groups, .namespaces]' "$T/a/fleet.json")"
expect_eq "the imported file keeps its registry settings" \
	"$(jq -r '.registry | "\(.type) \(.user)"' "$T/b/fleet.json")" "etcd cf-admin"

before=$(sum "$T/b/fleet.json")
check_fails "import over a fleet that holds agents refused" 1 \
	"holds agents, groups or namespaces already.*--force" \
	B registry import --from etcd
expect_eq "the refused import changed nothing" "$(sum "$T/b/fleet.json")" "$before"

# --- commands on the etcd registry ------------------------------------------------
# Both homes now say etcd: every command reads the fleet from etcd and
# writes back what it changed, fenced on what it read; no export or
# import between them.
check "etcd registry: namespace add in home A" \
	A namespace add shop.example.com --servers ex1 --services https
expect_eq "etcd holds its spec at once" \
	"$(etcd_keys | tr ',' '\n' | grep -c '^/certfleet/ns/shop.example.com/spec$')" 1
check "etcd registry: home B shows it" B namespace show shop.example.com --json
expect_eq "home B: its servers and services" \
	"$(jq -r '"\(.Servers | join(",")) \(.Services | join(","))"' "$OUT")" "ex1 https"
check "etcd registry: home B changes its soak" B namespace set shop.example.com --soak 45s
expect_eq "home A sees the change" \
	"$(A namespace show shop.example.com --json | jq .SoakSeconds)" 45
rev=$(etcd_rev)
check "etcd registry: a command that changes nothing" A namespace list
expect_eq "writes nothing (revision)" "$(etcd_rev)" "$rev"
check "etcd registry: home A removes it" A namespace remove shop.example.com
expect_eq "gone from etcd" \
	"$(etcd_keys | tr ',' '\n' | grep -c shop.example.com)" 0
check_fails "home B no longer finds it" 1 "no such namespace" \
	B namespace show shop.example.com
expect_eq "home A's file keeps a copy of what it last read" \
	"$(jq -r '[.namespaces[].name] | join(",")' "$T/a/fleet.json")" "mail.example.com"
before=$(sum "$T/b/fleet.json")

# --- the agents' keys and the sealed material -----------------------------------
# What the agents write under their own names, and what a rollout seals
# for each member: not the fleet's, so loaded by no command, exported,
# imported or deleted by none.
M=mail.example.com
AGENT_KEYS="/certfleet/agents/ex1/live /certfleet/agents/ex1/identity
/certfleet/agents/ex1/status/$M /certfleet/elect/ex1/$M
/certfleet/progress/ex1/$M /certfleet/sealed/ex1/$M"
cfe put /certfleet/agents/ex1/live '{"address":"127.0.0.1:9001","started":1,"version":"0.1"}' >/dev/null
cfe put /certfleet/agents/ex1/identity '{"certificate":"not looked at"}' >/dev/null
cfe put "/certfleet/agents/ex1/status/$M" '{"state":"converged"}' >/dev/null
cfe put "/certfleet/elect/ex1/$M" '{}' >/dev/null
cfe put "/certfleet/progress/ex1/$M" '{"wave":1}' >/dev/null
cfe put "/certfleet/sealed/ex1/$M" '{"sealed":"AAAA"}' >/dev/null
# and keys of no shape where only an agent writes: no agent may make
# every command fail
AGENT_KEYS+=" /certfleet/agents/ex1/status/BAD_NS /certfleet/progress/BAD_AGENT!/x"
cfe put /certfleet/agents/ex1/status/BAD_NS '{}' >/dev/null
cfe put "/certfleet/progress/BAD_AGENT!/x" "not json" >/dev/null
agent_keys() {
	local k n=0
	for k in $AGENT_KEYS; do
		[ "$(cfe get "$k" | jq -rs '[.[] | select(.Key)] | length')" = 1 ] && n=$((n + 1))
	done
	echo "$n"
}
expect_eq "the agents' keys are there" "$(agent_keys)" 8
check "a command loads the fleet beside the agents' keys" A fleet list --json
expect_eq "the agents' keys are no agents of the fleet" \
	"$(jq -r '[.Items[].Name] | join(",")' "$OUT")" "ex1,ex2"
check "namespace show beside them" A namespace show "$M" --json
check "a change saved beside them" A namespace set "$M" --soak 40s
check "and back" A namespace set "$M" --soak 30s
expect_eq "saves leave the agents' keys alone" "$(agent_keys)" 8
check "export --force beside them" A registry export --to etcd --force --json
expect_eq "export --force writes and deletes none of them" \
	"$(jq -r .Deleted "$OUT") $(agent_keys)" "0 8"
cp -a "$T/a" "$T/d"
check "import --force beside them" env CERTFLEET_HOME="$T/d" "$CERTFLEET" \
	registry import --from etcd --force --json
expect_eq "import reads the fleet, not the agents' keys" \
	"$(jq -c '[.Agents, .Groups, .Namespaces]' "$OUT") $(grep -c -e live -e sealed -e progress "$T/d/fleet.json")" \
	"[2,1,1] 0"
for k in $AGENT_KEYS; do cfe del "$k" >/dev/null; done
before=$(sum "$T/b/fleet.json")

# --- malformed values, put by hand ----------------------------------------------
cfe put /certfleet/agents/ex3 '{"address":' >/dev/null
check_fails "a value that is not JSON refused, naming its key" 1 \
	"/certfleet/agents/ex3: not JSON.*unchanged" B registry import --from etcd --force
expect_eq "the fleet file is unchanged" "$(sum "$T/b/fleet.json")" "$before"
cfe put /certfleet/agents/ex3 '{"address":"127.0.0.1:9003","fingerprint":"SHA256:00"}' >/dev/null
check_fails "a bad fingerprint refused, naming its key" 1 \
	"/certfleet/agents/ex3: " B registry import --from etcd --force
cfe put /certfleet/agents/ex3 "{\"address\":\"127.0.0.1:9003\",\"fingerprint\":\"$(fp 3)\"}" >/dev/null
cfe put /certfleet/groups/db '{"members":["ex9"]}' >/dev/null
check_fails "a group of an unknown agent refused, naming its key" 1 \
	"/certfleet/groups/db: .*ex9.*unchanged" B registry import --from etcd --force
cfe del /certfleet/groups/db >/dev/null
cfe put /certfleet/ns/orphan.example.com/desired "{\"thumbprint\":\"$T_NEW\"}" >/dev/null
check_fails "a desired state without its namespace refused, naming its key" 1 \
	"/certfleet/ns/orphan.example.com/desired: .*without its namespace's spec" \
	B registry import --from etcd --force
cfe del /certfleet/ns/orphan.example.com/desired >/dev/null
cfe put '/certfleet/agents/bad name' '{}' >/dev/null
check_fails "a key that is not a name refused, naming it" 1 \
	"/certfleet/agents/bad name: .*a name is" B registry import --from etcd --force
expect_eq "the fleet file is still unchanged" "$(sum "$T/b/fleet.json")" "$before"
cfe del '/certfleet/agents/bad name' >/dev/null
check "import --force once the values are whole" B registry import --from etcd --force --json
expect_eq "the third agent came in" "$(jq -r .Agents "$OUT")" 3

# --- wrong password, etcd down --------------------------------------------------
entries() { jq -S '[.servers, .groups, .namespaces]' "$T/b/fleet.json"; }
before=$(entries)
(umask 077 && echo not-the-password >"$T/wrong.pw")
check "registry set a wrong password file" B registry set etcd --password-file "$T/wrong.pw"
check_fails "a wrong password refused" 1 \
	"authentication failed|invalid user ID or password" \
	B registry import --from etcd --force
if grep -q not-the-password "$ERR"; then
	fail "the wrong password is not in the message" "it is"
else
	pass "the wrong password is not in the message"
fi
closed=$(free_ports 1)
check "registry set etcd at a closed port" B registry set etcd \
	--endpoints "https://127.0.0.1:$closed" --password-file "$T/admin.pw"
check_fails "import from an etcd that is down" 1 "nothing changed.*is etcd up" \
	B registry import --from etcd --force
check_fails "export to an etcd that is down" 1 "nothing changed.*is etcd up" \
	B registry export --to etcd --force
check_fails "a command on an etcd registry that is down" 1 \
	"etcd registry.*registry show.*nothing changed.*is etcd up" B namespace list
expect_eq "the fleet's entries are unchanged after the failures" \
	"$(entries)" "$before"
jq '.registry.type = "zookeeper"' "$T/b/fleet.json" >"$T/bad.json"
check_fails "a fleet file with an unknown registry type refused" 1 \
	"bad.json: registry: .*\"file\" or \"etcd\"" cf --fleet "$T/bad.json" fleet list
jq '.registry.endpoints = ["http://127.0.0.1:1"]' "$T/b/fleet.json" >"$T/bad.json"
check_fails "a fleet file with a plain http endpoint refused" 1 \
	"bad.json: registry: .*https://" cf --fleet "$T/bad.json" fleet list
check "registry set file" B registry set file
check "registry show after set file" B registry show --json
expect_eq "set file keeps etcd's settings for import" \
	"$(jq -r '"\(.Type) \(.Endpoints[0])"' "$OUT")" "file https://127.0.0.1:$closed"

e2e_done
