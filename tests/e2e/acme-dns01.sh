#!/usr/bin/env bash
# acme-dns01.sh - the DNS-01 record of issue 14 (src/acme/dns01.c)
# against real BIND: a primary of example.com that takes RFC 2136 updates
# signed with a TSIG key (tsig-keygen), and a secondary that transfers the
# zone on NOTIFY, both private named instances on loopback.  Driven by
# `cf-acme dns01`: the record set through nsupdate and waited for on both
# servers; a wrong TSIG key refused, nothing changed; a secondary that is
# down named by the wait, which passes once it is back; the record
# cleared; a hook command run with set/clear NAME VALUE, and one that
# fails shown with its output; names and values that are not a DNS name
# or base64url refused before anything runs.
. "$(dirname "$0")/lib.sh"

require_tools named nsupdate tsig-keygen dig jq
CFA=${CF_ACME:-$E2E_ROOT/build/cf-acme}
if [ ! -x "$CFA" ]; then
	fail "$E2E_NAME: cf-acme" "not found at $CFA (run make)"
	e2e_done
fi
declare -A NPID=()
cleanup() {
	local p
	for p in "${NPID[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

read -r P1 P2 < <(free_ports 2 | tr '\n' ' ')
NAME=_acme-challenge.mail.example.com
VALUE=$(openssl rand 32 | basenc --base64url | tr -d '=\n')

tsig-keygen -a hmac-sha256 acme-key >"$T/tsig.key"
tsig-keygen -a hmac-sha256 acme-key >"$T/wrong.key" # same name, other secret
mkdir -p "$T/p" "$T/s"
cat >"$T/p/example.com.zone" <<EOF
\$TTL 60
@	IN SOA ns1.example.com. hostmaster.example.com. 1 60 60 600 60
@	IN NS ns1.example.com.
ns1	IN A 127.0.0.1
mail	IN A 127.0.0.1
EOF
cat >"$T/p/named.conf" <<EOF
options {
	directory "$T/p";
	pid-file "$T/p/named.pid";
	session-keyfile "$T/p/session.key";
	listen-on port $P1 { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify explicit;
	also-notify { 127.0.0.1 port $P2; };
	allow-transfer { 127.0.0.1; };
};
include "$T/tsig.key";
zone "example.com" {
	type primary;
	file "$T/p/example.com.zone";
	update-policy { grant acme-key zonesub TXT; };
};
EOF
cat >"$T/s/named.conf" <<EOF
options {
	directory "$T/s";
	pid-file "$T/s/named.pid";
	session-keyfile "$T/s/session.key";
	listen-on port $P2 { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
};
zone "example.com" {
	type secondary;
	primaries { 127.0.0.1 port $P1; };
	file "$T/s/example.com.zone";
};
EOF

# named_start p|s PORT - a named in the foreground of a background job;
# waits until it answers the zone's SOA.
named_start() {
	named -g -c "$T/$1/named.conf" >"$T/$1/named.log" 2>&1 &
	NPID[$1]=$!
	wait_until 20 bash -c "dig +short +norecurse -p $2 @127.0.0.1 example.com SOA | grep -q hostmaster"
}
if named_start p "$P1" && named_start s "$P2"; then
	pass "BIND: a primary and a secondary of example.com answer"
else
	fail "BIND: a primary and a secondary of example.com answer"
	show "$T/p/named.log"
	show "$T/s/named.log"
	e2e_done
fi

txt() { dig +short +norecurse -p "$1" @127.0.0.1 "$NAME" TXT | tr -d '"'; }
d() { "$CFA" --timeout-ms 5000 dns01 "$@"; }

# ---- an RFC 2136 update signed with TSIG --------------------------------------
check_fails "a wrong TSIG key: refused, nsupdate's answer shown" 1 \
	'dns-01: nsupdate \(set _acme-challenge.mail.example.com at 127.0.0.1:[0-9]+\) failed.*(NOTAUTH|BADSIG|tsig|TSIG|REFUSED)' \
	d set "$NAME" "$VALUE" --server "127.0.0.1:$P1" --key-file "$T/wrong.key"
expect_eq "... and the primary has no TXT" "$(txt "$P1")" ""
check "set the TXT through nsupdate with the TSIG key" \
	d set "$NAME" "$VALUE" --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
expect_eq "the primary answers it" "$(txt "$P1")" "$VALUE"
check "wait: both authoritative servers answer it (the secondary by NOTIFY and transfer)" \
	d wait "$NAME" "$VALUE" --check "127.0.0.1:$P1" --check "127.0.0.1:$P2" --deadline-ms 20000
expect_eq "the secondary answers it" "$(txt "$P2")" "$VALUE"

# A secondary that is down: the wait names it and what it answered.
V2=$(openssl rand 32 | basenc --base64url | tr -d '=\n')
kill "${NPID[s]}"
wait "${NPID[s]}" 2>/dev/null
unset 'NPID[s]'
check "set another value while the secondary is down" \
	d set "$NAME" "$V2" --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
check_fails "wait: the secondary that does not answer is named" 1 \
	"not every authoritative server answers the TXT record yet: 127.0.0.1:$P2 \\(no answer\\); the CA was not asked" \
	d wait "$NAME" "$V2" --check "127.0.0.1:$P1" --check "127.0.0.1:$P2" --deadline-ms 1500
named_start s "$P2" || fail "the secondary comes back"
check "wait: once it is back and has transferred, it passes" \
	d wait "$NAME" "$V2" --check "127.0.0.1:$P1" --check "127.0.0.1:$P2" --deadline-ms 20000
check "wait with no --check waits on the update server" \
	d wait "$NAME" "$V2" --server "127.0.0.1:$P1" --deadline-ms 5000
check_fails "wait for a value nobody serves: what the server answered is shown" 1 \
	"127.0.0.1:$P1 \\(TXT " d wait "$NAME" "$(openssl rand 32 | basenc --base64url | tr -d '=\n')" \
	--check "127.0.0.1:$P1" --deadline-ms 1000

# ---- clear --------------------------------------------------------------------
check "clear the first value" d clear "$NAME" "$VALUE" --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
check "clear the second" d clear "$NAME" "$V2" --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
expect_eq "the primary has no TXT left" "$(txt "$P1")" ""

# ---- what is refused before anything runs ------------------------------------
check_fails "a name with a space: not a DNS name" 1 'not a DNS name' \
	d set "bad name" "$VALUE" --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
check_fails "a name with a quote: not a DNS name" 1 'not a DNS name' \
	d set "a'b.example.com" "$VALUE" --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
check_fails "a value with a quote: not base64url" 1 'not base64url' \
	d set "$NAME" 'ab"c' --server "127.0.0.1:$P1" --key-file "$T/tsig.key"
check_fails "no update server: said so" 1 'the update server \(none\)' d set "$NAME" "$VALUE"
check_fails "a check server by name: an address is asked for" 1 'give an IP address and port' \
	d wait "$NAME" "$VALUE" --check "ns1.example.com:53" --deadline-ms 500

# ---- a hook for any other DNS provider ---------------------------------------
cat >"$T/hook.sh" <<EOF
#!/bin/sh
echo "\$*" >>"$T/hook.calls"
EOF
cat >"$T/hook-fails.sh" <<'EOF'
#!/bin/sh
echo "provider API: 401 unauthorized" >&2
exit 1
EOF
chmod 755 "$T/hook.sh" "$T/hook-fails.sh"
check "hook: set" d set "$NAME" "$VALUE" --hook "$T/hook.sh"
check "hook: clear" d clear "$NAME" "$VALUE" --hook "$T/hook.sh"
expect_eq "the hook got set/clear NAME VALUE" "$(cat "$T/hook.calls")" \
	"set $NAME $VALUE"$'\n'"clear $NAME $VALUE"
check_fails "a failing hook: its exit status and output shown" 1 \
	'dns-01 hook \(set _acme-challenge.mail.example.com\) failed \(exit status 1\).*401 unauthorized' \
	d set "$NAME" "$VALUE" --hook "$T/hook-fails.sh"

e2e_done
