#!/usr/bin/env bash
# json.sh - the JSON of every command against the schemas of docs/json.md:
# on a local store and on two agents (one with a service behind a real
# nginx, one whose check endpoint does not answer).  Beside each command's
# document, the rules scripts rely on: SchemaVersion 1 in every document,
# Server in every item even when one agent answers, `get --fields` giving
# exactly the fields named, Services an array everywhere, and --json
# refused (exit 2) where it cannot be honoured.  The validator itself is
# shown to reject documents that break a schema.
#
#   bash tests/e2e/json.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
cleanup() {
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT
require_tools "$CERTFLEETD" nginx openssl python3 jq
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	fail "json: python3-jsonschema" "not installed (scripts/setup-deps.sh installs it)"
	e2e_done
fi
export CERTFLEET_HOME=$T/home
DOCS=$E2E_ROOT/docs/json.md
SCHEMA="python3 $E2E_ROOT/tests/e2e/json-schema.py $DOCS"

# valid NAME SCHEMA CMD... - CMD exits 0 (or $WANT_RC) and its stdout is
# one document valid against SCHEMA (json-schema.py's reasons shown when
# not).
valid() {
	local name=$1 schema=$2
	shift 2
	run "$@"
	if [ "$RC" -ne "${WANT_RC:-0}" ]; then
		fail "$name" "exit $RC, expected ${WANT_RC:-0}, from: $*"
		show "$ERR"
		return 1
	fi
	cp "$OUT" "$T/doc.json"
	if $SCHEMA "$schema" "$T/doc.json" 2>"$T/why"; then
		pass "$name"
	else
		fail "$name" "not valid against schema $schema of docs/json.md"
		show "$T/why"
		show "$T/doc.json" 3
		return 1
	fi
}
# jqo FILTER - jq on the last document.
jqo() { jq -r "$1" "$T/doc.json" 2>/dev/null; }


P=$T/pki
make_pki "$P"
TP=$(thumb "$P/leaf.pem")
TP_EC=$(thumb "$P/ec.pem")
# sign CSR OUT - the test intermediate signs a request, its names copied.
sign() {
	openssl x509 -req -in "$1" -CA "$P/int.pem" -CAkey "$P/int.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 90 -sha256 \
		-copy_extensions copy -out "$2" 2>/dev/null
}

# ---- the schemas themselves -------------------------------------------------

run $SCHEMA check-schemas
expect_eq "schemas: every block of docs/json.md is a valid JSON Schema" \
	"$RC $(cat "$OUT")" \
	"0 acme-account acme-account-deactivate autopilot copy defs enable fleet-add fleet-group fleet-group-list fleet-list fleet-remove get id import log namespace namespace-list namespace-remove new registry-enroll registry-move registry-show replace request-complete request-new revoke rollout rollout-agents rollout-run services status store-init test test-via"

# ---- a local store (--store) --------------------------------------------------

S=$T/store
L() { cf --store "$S" "$@"; }
valid "store/store init" store-init cf store init "$S" --json
expect_eq "store/store init: Created" "$(jqo .Created)" true
valid "store/store init again" store-init cf store init "$S" --json
expect_eq "store/store init again: nothing created" "$(jqo .Created)" false
valid "store/import" import L import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem" \
	--exportable --services https,smtp --force --json
expect_eq "store/import: Services an array, Server named" \
	"$(jqo '[.Items[] | select(.Thumbprint == "'"$TP"'") | "\(.Services | type) \(.Server | type)"] | unique | join(",")')" \
	"array string"
valid "store/new" new L new --self-signed --subject CN=self.example.com --days 20 --json
SELF=$(jqo '.Items[0].Thumbprint')
valid "store/get" get L get --json
expect_eq "store/get: SchemaVersion 1" "$(jqo .SchemaVersion)" 1
expect_eq "store/get: DaysLeft an integer, Services an array" \
	"$(jqo '.Items[] | select(.Thumbprint == "'"$SELF"'") | "\(.DaysLeft | type) \(.DaysLeft | IN(19, 20)) \(.Services | type)"')" \
	"number true array"
run L get --json --fields Thumbprint,Status
cp "$OUT" "$T/doc.json"
if $SCHEMA get "$T/doc.json" --partial 2>"$T/why"; then
	pass "store/get --fields: valid with only the fields named"
else
	fail "store/get --fields: valid with only the fields named"
	show "$T/why"
fi
expect_eq "store/get --fields Thumbprint,Status: exactly those keys" \
	"$(jqo '[.Items[] | keys_unsorted | join(",")] | unique | join(";")')" "Thumbprint,Status"
run L get --json --fields Server,DaysLeft
cp "$OUT" "$T/doc.json"
expect_eq "store/get --fields Server,DaysLeft: exactly those keys" \
	"$(jqo '[.Items[] | keys_unsorted | join(",")] | unique | join(";")')" "Server,DaysLeft"
valid "store/get --expiring" get L get --expiring 30d --json
expect_eq "store/get --expiring 30d: only the 20-day certificate" \
	"$(jqo '[.Items[].Thumbprint] | join(",")')" "$SELF"
valid "store/enable" enable L enable "$SELF" --services imap --json
expect_eq "store/enable: Result enabled" "$(jqo '.Items[0].Result')" enabled
valid "store/disable" enable L disable "$SELF" --services imap --json
expect_eq "store/disable: Result disabled" "$(jqo '.Items[0].Result')" disabled
valid "store/request new -o FILE" request-new \
	L request new --subject CN=req.example.com --domains req.example.com -o "$T/req.csr" --json
REQ=$(jqo '.Items[0].Thumbprint')
expect_eq "store/request new: Output names the file" "$(jqo '.Items[0].Output')" "$T/req.csr"
valid "store/get: a pending request's dates are null" get L get "$REQ" --json
expect_eq "store/get: NotAfter and DaysLeft null for PendingRequest" \
	"$(jqo '.Items[0] | "\(.Status) \(.NotAfter) \(.DaysLeft)"')" "PendingRequest null null"
valid "store/request new, no -o: the PEM inside" request-new \
	L request new --subject CN=req2.example.com --json
jqo '.Items[0].Request' >"$T/req2.csr"
if openssl req -in "$T/req2.csr" -noout 2>/dev/null; then
	pass "store/request new: Request is the PKCS#10 PEM"
else
	fail "store/request new: Request is the PKCS#10 PEM"
fi
sign "$T/req.csr" "$T/req.pem"
valid "store/request complete" request-complete L request complete "$T/req.pem" --json
valid "store/renew" request-new L renew "$TP" -o "$T/renew.csr" --json
valid "store/services" services L services --json
valid "store/log" log L log --json
expect_eq "store/log: every record names its Server" \
	"$(jqo '[.Items[] | has("Server")] | all')" true
valid "store/remove" enable L remove "$SELF" --force --json
expect_eq "store/remove: Result removed" "$(jqo '.Items[0].Result')" removed
check_fails "store/export --json: refused, exit 2" 2 "export: --json" \
	L export "$TP" --no-key --json
check_fails "store/renew --binary --json without -o: refused, exit 2" 2 "renew: --json" \
	L renew "$TP" --binary --json

# ---- id and the fleet ---------------------------------------------------------

valid "id" id cf id --json
ID=$(jqo .Fingerprint)
valid "fleet add" fleet-add cf fleet add json-x 127.0.0.1:9 --fingerprint "$ID" --json
valid "fleet list" fleet-list cf fleet list --json
valid "fleet group add" fleet-group cf fleet group add json-g json-x --json
valid "fleet group list" fleet-group-list cf fleet group list --json
valid "namespace add" namespace cf namespace add json.example.com --servers @json-g \
	--services https,smtp --via 127.0.0.1:9 --waves 1,50%,100% --soak 30s --json
valid "namespace set" namespace cf namespace set json.example.com --via none --json
expect_eq "namespace set: Via null, Result changed" "$(jqo '"\(.Via) \(.Result)"')" "null changed"
valid "namespace show" namespace cf namespace show json.example.com --json
valid "namespace list" namespace-list cf namespace list --json
expect_eq "namespace list: Members resolved, Waves an array" \
	"$(jqo '.Items[0] | "\(.Members | join(",")) \(.Waves | type)"')" "json-x array"
valid "namespace remove" namespace-remove cf namespace remove json.example.com --json
valid "fleet group remove" fleet-group cf fleet group remove json-g --json
valid "fleet remove" fleet-remove cf fleet remove json-x --json

# ---- two agents ---------------------------------------------------------------

read -r -d '' HTTPS DEAD < <(free_ports 2) || true
W=$T/srv
mkdir -p "$W/files"
cat "$P/leaf.pem" "$P/chain.pem" >"$W/files/https.crt"
cp "$P/leaf.key" "$W/files/https.key"
chmod 600 "$W/files/https.key"
if srv_nginx_start "$W/nginx" "$HTTPS" "$W/files/https.crt" "$W/files/https.key" mail.example.com; then
	pass "set-up: nginx serves the leaf on loopback"
else
	fail "set-up: nginx serves the leaf on loopback"
	e2e_done
fi
for n in ex1 ex2; do
	agent_conf "$n"
done
# ex1's https is the nginx; ex2's checks where nothing answers, and its
# imap has no check at all.
cat >>"$T/ex1.conf" <<-EOF

	[service https]
	kind = nginx
	chain = $W/files/https.crt
	key = $W/files/https.key
	test = $(srv_nginx_test_cmd "$W/nginx")
	reload = $(srv_nginx_reload_cmd "$W/nginx")
	check = 127.0.0.1:$HTTPS
	name = mail.example.com
	timeout = 10
EOF
cat >>"$T/ex2.conf" <<-EOF

	[service https]
	kind = files
	chain = $T/ex2-https.crt
	key = $T/ex2-https.key
	check = 127.0.0.1:$DEAD
	name = mail.example.com
	timeout = 5
EOF
for n in ex1 ex2; do
	cfd init --config "$T/$n.conf" >/dev/null
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	agent_start "$n" || e2e_done
	check "fleet: add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done

valid "agents/import on both" import cf import "$P/root.pem" --server ex1,ex2 --json
valid "agents/import on ex1" import cf import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem" \
	--exportable --server ex1 --json
expect_eq "agents/import on one agent: Server still named" \
	"$(jqo '[.Items[].Server] | unique | join(",")')" ex1
valid "agents/enable on ex1" enable cf enable "$TP" --services https --force --server ex1 --json
expect_eq "agents/enable: Detail says what https did" \
	"$(jqo '.Items[0].Detail | test("^https: ")')" true
valid "agents/get, one agent" get cf get --server ex1 --json
expect_eq "agents/get --server ex1: Server in every item" \
	"$(jqo '[.Items[] | .Server == "ex1"] | all and length > 0')" true
valid "agents/get --server all" get cf get --server all --json
expect_eq "agents/get --server all: both servers" \
	"$(jqo '[.Items[].Server] | unique | join(",")')" ex1,ex2
valid "agents/copy ex1 to ex2" copy cf copy "$TP" --from ex1 --to ex2 --services none --json
expect_eq "agents/copy: one item for ex2, Services an array" \
	"$(jqo '.Items | map("\(.Server) \(.Services | type)") | join(",")')" "ex2 array"
check "agents/namespace for a rollout" cf namespace add json-ro.example.com --servers ex1,ex2 --via 127.0.0.1:9
valid "agents/rollout --dry-run" rollout cf rollout json-ro.example.com --certificate "$TP" --dry-run --json
expect_eq "agents/rollout: source ex1, both hold it after the copy, one wave each" \
	"$(jqo '"\(.From) \([.Waves[].Members[] | "\(.Server)=\(.Holds)"] | join(","))"')" "ex1 ex1=true,ex2=true"
WANT_RC=1 valid "agents/status: exit 1 (ex2's check does not answer)" status \
	cf status json-ro.example.com --ca-file "$P/root.pem" --json
expect_eq "agents/status: never rolled out, ex1 serves the leaf, ex2's check fails" \
	"$(jqo '.Items[0] | "\(.Desired) \(.Rollout) \(.Converged) \([.Members[] | "\(.Server)=\(.Services[0].Served != null)"] | join(","))"')" \
	"null null false ex1=true,ex2=false"
valid "agents/new on ex2" new cf new --self-signed --subject CN=ex2.example.com --server ex2 --json
valid "agents/request new on ex1" request-new \
	cf request new --subject CN=agent-req.example.com --server ex1 -o "$T/areq.csr" --json
sign "$T/areq.csr" "$T/areq.pem"
valid "agents/request complete --server all" request-complete \
	cf request complete "$T/areq.pem" --server all --json
expect_eq "agents/request complete: the holder completed it" \
	"$(jqo '[.Items[] | select(.Result == "completed") | .Server] | join(",")')" ex1
valid "agents/renew on ex1" request-new cf renew "$TP" --server ex1 -o "$T/arenew.csr" --json
valid "agents/services (ex2: assigned at init, not yet deployed)" services \
	cf services --server ex1,ex2 --json
expect_eq "agents/services: ex2's https not yet deployed, Match null" \
	"$(jqo '.Items[] | select(.Server == "ex2" and .Service == "https") | "\(.Match) \(.Problem | startswith("assigned, not yet deployed"))"')" "null true"
valid "agents/services, one agent" services cf services --server ex1 --json
expect_eq "agents/services --server ex1: Server and DaysLeft" \
	"$(jqo '.Items[] | select(.Service == "https") | "\(.Server) \(.DaysLeft | type)"')" "ex1 number"
valid "agents/log --server all" log cf log --server all --json
expect_eq "agents/log --server all: one timeline, oldest first" \
	"$(jqo '[.Items[].Time] | . == sort')" true
expect_eq "agents/log --server all: both servers" \
	"$(jqo '[.Items[].Server] | unique | join(",")')" ex1,ex2
run cf test mail.example.com --server ex1,ex2 --ca-file "$P/root.pem" --timeout 2 --json
cp "$OUT" "$T/doc.json"
if [ "$RC" = 1 ] && $SCHEMA test "$T/doc.json" 2>"$T/why"; then
	pass "agents/test: valid (exit 1: ex2's endpoint does not answer)"
else
	fail "agents/test: valid (exit 1: ex2's endpoint does not answer)" "exit $RC"
	show "$T/why"
	show "$ERR"
fi
expect_eq "agents/test: ex1 served, ex2 failed with nulls" \
	"$(jqo '[.Endpoints[] | "\(.Server) \(.Status) \(.Thumbprint // "null")"] | join(";")')" \
	"ex1 OK $TP;ex2 CRITICAL null"
valid "agents/test --via" test-via \
	cf test mail.example.com --via "127.0.0.1:$HTTPS" --count 3 --ca-file "$P/root.pem" --json
expect_eq "agents/test --via: one certificate, three connections" \
	"$(jqo '"\(.Connections) \(.Distinct[0].Count) \(.Distinct[0].Thumbprint) \(.Ok)"')" "3 3 $TP true"
valid "agents/remove on ex2" enable cf remove "$TP" --server ex2 --force --json
run cf disable "$TP_EC" --services https --server ex1,ex2 --json
cp "$OUT" "$T/doc.json"
if [ "$RC" = 1 ] && $SCHEMA enable "$T/doc.json" 2>"$T/why"; then
	pass "agents/disable of an absent certificate: valid, exit 1"
else
	fail "agents/disable of an absent certificate: valid, exit 1" "exit $RC"
	show "$T/why"
fi
expect_eq "agents/disable of an absent certificate: {Server, Error} per server" \
	"$(jqo '[.Items[] | "\(.Server):" + (keys | join(","))] | join(";")')" "ex1:Error,Server;ex2:Error,Server"
# replace: ex1's https moves from the leaf to the certificate its request
# completed (names that do not cover mail.example.com: --force); ex2 holds
# neither.  Then back, so what follows sees the leaf served again.
AREQ=$(thumb "$T/areq.pem")
valid "agents/replace" replace cf replace "$TP" "$AREQ" --server ex1,ex2 --force --json
expect_eq "agents/replace: moved on ex1, not held on ex2, Services an array" \
	"$(jqo '[.Items[] | "\(.Server) \(.Result) \(.Services | join(","))"] | join(";")')" \
	"ex1 moved https;ex2 not held "
WANT_RC=1 valid "agents/replace of a certificate nobody holds: valid, exit 1" replace \
	cf replace "$(printf '%040d' 7)" "$AREQ" --server ex1 --json
check "agents/replace back" cf replace "$AREQ" "$TP" --server ex1 --force

# ---- the validator rejects what breaks the schemas ----------------------------

run cf get --server ex1 --json
cp "$OUT" "$T/good.json"
# rejects NAME SCHEMA JQ - the good get document changed by JQ must be
# refused by the validator.
rejects() {
	jq "$3" "$T/good.json" >"$T/bad.json"
	if $SCHEMA "$2" "$T/bad.json" 2>/dev/null; then
		fail "validator: $1" "accepted"
	else
		pass "validator: $1"
	fi
}
if $SCHEMA get "$T/good.json" 2>/dev/null; then
	pass "validator: accepts the real get document"
else
	fail "validator: accepts the real get document"
fi
rejects "Services as a comma-separated string is refused" get '.Items[0].Services = "https,smtp"'
rejects "a snake_case key is refused" get '.Items[0].not_after = .Items[0].NotAfter | del(.Items[0].NotAfter)'
rejects "an item without Server is refused" get 'del(.Items[0].Server)'
rejects "a document without SchemaVersion is refused" get 'del(.SchemaVersion)'
rejects "SchemaVersion 2 is refused" get '.SchemaVersion = 2'
rejects "DaysLeft as a string is refused" get '.Items[0].DaysLeft = "12"'
rejects "a bare array is refused" get '.Items'

e2e_done
