#!/usr/bin/env bash
# namespace.sh - groups and namespaces in the fleet file: `fleet group
# add|remove|list`, `--server @GROUP`, `namespace add|set|show|list|
# remove`, and `test NAMESPACE` taking a namespace's servers and
# services.  Every refused command is shown to leave the fleet file as it
# was (byte for byte), and a fleet file of the first format (servers only)
# still loads and is kept.  Most of it needs no agent (--fleet FILE in
# the scratch directory); two real agents prove @GROUP and test NAMESPACE.
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/namespace.sh
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
FP1=SHA256:$(printf 'AB%.0s' $(seq 32))
FP2=SHA256:$(printf 'CD%.0s' $(seq 32))
FP3=SHA256:$(printf 'EF%.0s' $(seq 32))
# shellcheck disable=SC2317 # called through check and refused
c() { cf --fleet "$F" "$@"; }

# refused NAME EXIT PATTERN CMD... - CMD fails as check_fails wants, and
# the fleet file is byte for byte what it was.
refused() {
	local name=$1
	cp "$F" "$T/before.json"
	check_fails "$@"
	if cmp -s "$F" "$T/before.json"; then
		pass "$name: fleet file unchanged"
	else
		fail "$name: fleet file unchanged" "it changed"
		diff "$T/before.json" "$F" | head -10 | sed 's/^/    /'
	fi
}

# ---- a fleet file of the first format ---------------------------------
cat >"$F" <<EOF
{"version": 1, "servers": [
  {"name": "ex1", "address": "127.0.0.1:9", "fingerprint": "$FP1"},
  {"name": "ex2", "address": "127.0.0.2:9", "fingerprint": "$FP2"}]}
EOF
check "old format: fleet list loads it" c fleet list
expect_eq "old format: both servers" "$(awk 'NR > 2 {print $1}' "$OUT" | paste -sd,)" ex1,ex2
check "old format: namespace list is empty" c namespace list --json
expect_eq "old format: no namespaces" "$(jq -c .Items "$OUT")" "[]"
check "old format: fleet add writes the new format" c fleet add ex3 127.0.0.3:9 --fingerprint "$FP3"
expect_eq "new format: servers kept, groups and namespaces arrays" \
	"$(jq -c '[[.servers[].name], (.groups | type), (.namespaces | type)]' "$F")" \
	'[["ex1","ex2","ex3"],"array","array"]'
expect_eq "new format: mode 0600" "$(stat -c %a "$F")" 600
echo '{"servers": [], "groups": [{"name": "web"}]}' >"$T/bad.json"
check_fails "a malformed group in the file is refused, named" 1 'groups\[0\]' \
	cf --fleet "$T/bad.json" fleet list

# ---- groups ---------------------------------------------------------------
check "group add web ex1,ex2" c fleet group add web ex1,ex2
refused "group add of an unknown server" 2 'group web2: ex9: not a server in the fleet' \
	c fleet group add web2 ex1,ex9
refused "group add with a server's name" 1 "ex1: a server's name" c fleet group add ex1 ex2
refused "group add with no server" 2 'no server named' c fleet group add empty ,
refused "group add of a group" 2 'a group holds servers, not groups' c fleet group add g2 @web
refused "group add with a bad name" 2 'a name is' c fleet group add 'we b' ex1
refused "fleet add with a group's name" 1 'the name of a group' \
	c fleet add web 127.0.0.9:9 --fingerprint "$FP3"
check "group add extends: web gets ex3" c fleet group add web ex3 --json
expect_eq "group add extends: Members, Result" "$(jq -c '[.Members, .Result]' "$OUT")" \
	'[["ex1","ex2","ex3"],"changed"]'
check "group remove web ex3: a member out" c fleet group remove web ex3
refused "group remove of a non-member" 2 'ex3 is not a member' c fleet group remove web ex3
refused "group remove of every member" 1 'would be left empty' c fleet group remove web ex1,ex2
refused "group remove of no group" 1 'nope: no such group' c fleet group remove nope
refused "group with no subcommand word" 2 'usage: certfleet fleet group' c fleet group bogus
check "group list" c fleet group list
expect_eq "group list: web and its members" "$(tail -n 1 "$OUT" | tr -s ' ')" "web ex1,ex2"
check "group list --json" c fleet group list --json
expect_eq "group list --json: Items" "$(jq -c .Items "$OUT")" '[{"Name":"web","Members":["ex1","ex2"]}]'
refused "fleet remove of a server a group names" 1 'ex1: still named by group web' c fleet remove ex1
check "fleet group add tmp ex3" c fleet group add tmp ex3

# ---- --server @GROUP (resolution, through the errors of dead addresses) ---
run c get --server @web,ex3
if [ "$RC" -ne 0 ]; then
	pass "get --server @web,ex3: fails (no agent there)"
else
	fail "get --server @web,ex3: fails (no agent there)" "exit 0"
fi
expect_eq "get --server @web,ex3: asks ex1, ex2 and ex3, each once" \
	"$(grep -oE '^certfleet: ex[0-9]' "$ERR" | sort -u | sed 's/certfleet: //' | paste -sd,)" ex1,ex2,ex3
refused "get --server @nope: an unknown group" 2 '@nope: no such group' c get --server @nope
refused "get --server web: a group without @" 2 'a group: write @web' c get --server web

# ---- namespaces ---------------------------------------------------------
check "namespace add" c namespace add Mail.Example.com --servers @web,ex3 \
	--services https,IIS,smtp --via 127.0.0.1:9443 --waves 1,50%,100% --soak 2m --json
expect_eq "namespace add: canonical JSON" \
	"$(jq -c '[.Name, .Servers, .Members, .Services, .Via, .Waves, .SoakSeconds, .Result]' "$OUT")" \
	'["mail.example.com",["@web","ex3"],["ex1","ex2","ex3"],["https","smtp"],"127.0.0.1:9443",["1","50%","100%"],120,"added"]'
check "namespace add: defaults" c namespace add www.example.com --servers ex1 --json
expect_eq "namespace add: services https, waves 1,100%, soak 0, no via" \
	"$(jq -c '[.Services, .Waves, .SoakSeconds, .Via]' "$OUT")" '[["https"],["1","100%"],0,null]'
refused "namespace add twice (any case)" 1 'a namespace already' c namespace add MAIL.example.com --servers ex1
refused "namespace add without servers" 2 'which servers' c namespace add a.example.com
refused "namespace add of an unknown server" 2 'ex9: not a server in the fleet' \
	c namespace add a.example.com --servers ex1,ex9
refused "namespace add of an unknown group" 2 '@nope: no such group' c namespace add a.example.com --servers @nope
refused "namespace add of a group without @" 2 'a group: write @web' c namespace add a.example.com --servers web
refused "namespace add of no server" 2 'no servers' c namespace add a.example.com --servers ,
refused "namespace add of HOST:PORT" 2 'not a server in the fleet' c namespace add a.example.com --servers 127.0.0.1:9
refused "namespace add of an unknown service" 2 '--services ftp: not a service' \
	c namespace add a.example.com --servers ex1 --services https,ftp
refused "namespace add: waves not increasing" 2 'they increase' \
	c namespace add a.example.com --servers ex1 --waves 2,1,100%
refused "namespace add: a count after a share" 2 'counts first' \
	c namespace add a.example.com --servers ex1 --waves 50%,3,100%
refused "namespace add: last wave not 100%" 2 'the last wave is 100%' \
	c namespace add a.example.com --servers ex1 --waves 1,50%
refused "namespace add: a wave of 0" 2 'a wave is a count' c namespace add a.example.com --servers ex1 --waves 0,100%
refused "namespace add: a share over 100%" 2 'a wave is a count' \
	c namespace add a.example.com --servers ex1 --waves 1,150%
refused "namespace add: a bad soak" 2 '--soak 3x: give a duration' \
	c namespace add a.example.com --servers ex1 --soak 3x
refused "namespace add: a soak over a week" 2 'up to 7d' c namespace add a.example.com --servers ex1 --soak 8d
refused "namespace add: a bad --via" 2 'nohost' c namespace add a.example.com --servers ex1 --via nohost
refused "namespace add: not a DNS name" 2 'a DNS name has only' c namespace add 'a_b.example.com' --servers ex1
refused "namespace add: a wildcard" 2 'one DNS name' c namespace add '*.example.com' --servers ex1
refused "namespace add: --server is not the fleet file" 2 'namespaces live in the fleet file' \
	c namespace add a.example.com --servers ex1 --server ex1
refused "namespace show: options of add" 2 'show takes no --servers' c namespace show www.example.com --servers ex1
check "namespace set: via none, soak 30s" c namespace set mail.example.com --via none --soak 30s --json
expect_eq "namespace set: only what was given changes" \
	"$(jq -c '[.Servers, .Services, .Via, .Waves, .SoakSeconds, .Result]' "$OUT")" \
	'[["@web","ex3"],["https","smtp"],null,["1","50%","100%"],30,"changed"]'
refused "namespace set with nothing to change" 2 'nothing to change' c namespace set mail.example.com
refused "namespace set of no namespace" 1 'no such namespace' c namespace set b.example.com --soak 1
refused "namespace set: a bad wave" 2 'the last wave' c namespace set mail.example.com --waves 1

# ---- a namespace's issuer (ACME) ------------------------------------------
check "namespace set: an ACME issuer, renew at 30 days left" \
	c namespace set www.example.com --issuer acme:le --renew-at 30d --json
expect_eq "the issuer: account, defaults http-01 and p256, renew-at" \
	"$(jq -c '.Issuer | [.Type, .Account, .Challenge, .Key, .Profile, .RenewAt]' "$OUT")" \
	'["acme","le","http-01","p256",null,"30d"]'
check "namespace set: dns-01, p384 and a profile" \
	c namespace set www.example.com --challenge dns-01 --key p384 --profile tlsserver --json
expect_eq "only what was given changes" \
	"$(jq -c '.Issuer | [.Account, .Challenge, .Key, .Profile, .RenewAt]' "$OUT")" \
	'["le","dns-01","p384","tlsserver","30d"]'
expect_eq "the fleet file keeps it" \
	"$(jq -c '.namespaces[] | select(.name == "www.example.com") | .issuer | [.type, .account, .key]' "$F")" \
	'["acme","le","p384"]'
check "namespace show: the issuer's column" c namespace show www.example.com
expect_eq "... reads acme:le dns-01 p384" \
	"$(grep -o 'acme:le dns-01 p384 profile tlsserver renew at 30d' "$OUT")" \
	'acme:le dns-01 p384 profile tlsserver renew at 30d'
refused "namespace set: a weak key" 2 '--key rsa1024: p256, p384' \
	c namespace set www.example.com --key rsa1024
refused "namespace set: renew-at 100%" 2 '--renew-at 100%: days left' \
	c namespace set www.example.com --renew-at 100%
refused "namespace set: an issuer without acme:" 2 'give acme:ACCOUNT' \
	c namespace set www.example.com --issuer letsencrypt
refused "namespace set: --challenge where there is no issuer" 2 'give --issuer acme:ACCOUNT too' \
	c namespace set mail.example.com --challenge dns-01
jq '(.namespaces[] | select(.name == "www.example.com") | .issuer.challenge) = "tls-alpn-01"' "$F" >"$T/badissuer.json"
check_fails "a hand-edited issuer with an unknown challenge is refused, named" 1 \
	'namespaces\[[0-9]\]: issuer: challenge: http-01 or dns-01' \
	cf --fleet "$T/badissuer.json" namespace list
check "namespace set: DNS-01 through a TSIG update, waited on two servers, HTTP port 8080" \
	c namespace set www.example.com --challenge dns-01 --dns-server 127.0.0.1:5353 \
	--dns-key-file /etc/certfleet/acme.key --dns-check 127.0.0.1:5353,127.0.0.2:53 --http-port 8080 --json
expect_eq "... all kept" \
	"$(jq -c '.Issuer | [.DnsServer, .DnsKeyFile, .DnsHook, .DnsCheck, .HttpPort]' "$OUT")" \
	'["127.0.0.1:5353","/etc/certfleet/acme.key",null,["127.0.0.1:5353","127.0.0.2:53"],8080]'
refused "namespace set: a hook beside the update server" 2 'one or the other' \
	c namespace set www.example.com --dns-hook /usr/local/bin/dns-hook
refused "namespace set: a relative key file" 2 '--dns-key-file acme.key: the absolute path' \
	c namespace set www.example.com --dns-key-file acme.key
refused "namespace set: --http-port 0" 2 '--http-port 0: a port' c namespace set www.example.com --http-port 0
check "namespace set: --issuer none" c namespace set www.example.com --issuer none --json
expect_eq "... removes it" "$(jq -c '.Issuer' "$OUT"):$(jq -c '.namespaces[] | select(.name == "www.example.com") | has("issuer")' "$F")" "null:false"
check "namespace show" c namespace show mail.example.com
expect_eq "namespace show: the row, members resolved" "$(tail -n 1 "$OUT" | tr -s ' ')" \
	"mail.example.com @web,ex3 ex1,ex2,ex3 https,smtp - 1,50%,100% 30s - - none"
refused "namespace show of no namespace" 1 'no such namespace' c namespace show b.example.com
check "namespace list" c namespace list --format tsv --no-header
expect_eq "namespace list: both, tab-separated" "$(cut -f1 "$OUT" | paste -sd,)" mail.example.com,www.example.com
check "namespace list --json" c namespace list --json
expect_eq "namespace list --json: two Items" "$(jq -r '[.SchemaVersion, (.Items | length)] | join(" ")' "$OUT")" "1 2"
refused "namespace with no subcommand" 2 'add, set, show, list or remove' c namespace
refused "namespace bogus: did you mean" 2 'did you mean namespace show' c namespace shwo
refused "fleet remove of a server a namespace names" 1 'ex3: still named by group tmp and namespace mail.example.com' \
	c fleet remove ex3
refused "group remove of a group a namespace names" 1 'namespace mail.example.com names it' \
	c fleet group remove web
# offered WORD... - what bash completion offers after certfleet WORD...
offered() {
	bash -c 'source <("$CERTFLEET" completion bash) || exit 9
		COMP_WORDS=("$CERTFLEET" "$@")
		COMP_CWORD=$#
		_certfleet
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
		offered "$@"
}
expect_eq "completion: --server @ offers the groups" \
	"$(offered --fleet "$F" get --server @ | sort | paste -sd,)" "@tmp,@web"
expect_eq "completion: namespace show offers the namespaces" \
	"$(offered --fleet "$F" namespace show '' | paste -sd,)" "mail.example.com,www.example.com"
expect_eq "completion: test offers the namespaces" \
	"$(offered --fleet "$F" test w | paste -sd,)" "www.example.com"
expect_eq "completion: namespace add offers no namespace (a new name)" \
	"$(offered --fleet "$F" namespace add '' | paste -sd,)" ""
check "namespace remove" c namespace remove www.example.com
refused "namespace remove again" 1 'no such namespace' c namespace remove www.example.com
check "fleet file: still version 1, 0600" test "$(jq .version "$F") $(stat -c %a "$F")" = "1 600"

# ---- two agents: --server @GROUP and test NAMESPACE for real ------------
read -r -d '' DEAD < <(free_ports 1) || true
check "id" cf id --json
ID=$(jq -r .Fingerprint "$OUT")
R=$T/real.json
for n in ex1 ex2; do
	agent_conf "$n"
	cat >>"$T/$n.conf" <<-EOF

		[service https]
		kind = files
		chain = $T/$n-https.crt
		key = $T/$n-https.key
		check = 127.0.0.1:$DEAD
		timeout = 2
	EOF
	cfd init --config "$T/$n.conf" >/dev/null 2>&1
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	agent_start "$n" || e2e_done
	check "fleet add $n" cf --fleet "$R" fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done
check "real: group add web" cf --fleet "$R" fleet group add web ex1,ex2
check "real: get --server @web" cf --fleet "$R" get --server @web --json
expect_eq "real: get --server @web asks both agents" \
	"$(cf --fleet "$R" services --server @web --json 2>/dev/null | jq -r '[.Items[].Server] | unique | join(",")')" ex1,ex2
check "real: namespace add" cf --fleet "$R" namespace add mail.example.com --servers @web
run cf --fleet "$R" test mail.example.com --json
expect_eq "real: test NAMESPACE: exit 1 (nothing serves)" "$RC" 1
expect_eq "real: test NAMESPACE probes the https of its members" \
	"$(jq -r '[.Endpoints[] | "\(.Server) \(.Service)"] | join(",")' "$OUT")" "ex1 https,ex2 https"
run cf --fleet "$R" test mail.example.com --server ex1 --json
expect_eq "real: test NAMESPACE --server ex1: the flag wins" \
	"$(jq -r '[.Endpoints[].Server] | join(",")' "$OUT")" ex1
check "real: namespace set --services smtp" cf --fleet "$R" namespace set mail.example.com --services smtp
run cf --fleet "$R" test mail.example.com --json
expect_eq "real: test NAMESPACE: only the namespace's services (smtp: none checks)" \
	"$(jq -r '[(.Endpoints | length), (.Unchecked | map(.Service) | unique | join(","))] | join(" ")' "$OUT")" "0 smtp"
check "real: namespace set --via (nothing listens)" cf --fleet "$R" namespace set mail.example.com --via "127.0.0.1:$DEAD"
run cf --fleet "$R" test mail.example.com --count 2 --timeout 2 --json
expect_eq "real: test NAMESPACE --count goes through the namespace's --via" \
	"$RC $(jq -r '"\(.Via) \(.Connections)"' "$OUT")" "1 127.0.0.1:$DEAD 2"
check "real: namespace set --via none" cf --fleet "$R" namespace set mail.example.com --via none
check_fails "real: test NAMESPACE --count without a --via anywhere" 2 '--count goes with --via' \
	cf --fleet "$R" test mail.example.com --count 2
check_fails "real: test of an undefined name still needs a target (no local agent)" 1 'no-agent.sock|agent' \
	cf --fleet "$R" test other.example.com

e2e_done
