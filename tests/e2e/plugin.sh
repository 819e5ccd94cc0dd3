#!/usr/bin/env bash
# plugin.sh - `certfleet test --plugin` (and the name check_certfleet)
# speaks the Monitoring Plugins convention: exit 0 OK, 1 WARNING,
# 2 CRITICAL, 3 UNKNOWN, one status line with performance data, each
# produced by a real setup and checked to the byte.
#
# Two agents, ex1 and ex2, each with a private nginx as service https
# (check = 127.0.0.1:PORT, name = mail.example.com); most checks ask ex1
# alone, two endpoints show the perfdata per endpoint, two certificates
# for one name (CRITICAL) and ex2's agent stopped while ex1 is fine
# (UNKNOWN).  Certificates of chosen
# lifetimes, made by `openssl ca` with the dates set (-startdate,
# -enddate), signed by make_pki's intermediate:
#   OK        90 days, 80 left: above a third of the lifetime;
#   WARNING   47 days, 12 left (25.5%): under a third, above a sixth;
#             the same with --warn-days/--crit-days in days and shares;
#   CRITICAL  nginx's files changed behind certfleet's back (served is
#             not assigned), an expired certificate (enable refuses one:
#             by hand too), the chain untrusted, nginx down (handshake
#             failed), --crit-days reached;
#   UNKNOWN   usage errors (warn not above crit, unknown option, no
#             namespace, --json with --plugin), a server the fleet lacks,
#             the agent stopped.
#
#   bash tests/e2e/plugin.sh      (CERTFLEETD=path to test another build)
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

require_tools "$CERTFLEETD" nginx openssl python3

NS=mail.example.com
P=$T/pki
make_pki "$P" || {
	fail pki "make_pki failed"
	e2e_done
}
ROOT=$P/root.pem

# A CA of openssl ca's on make_pki's intermediate, for leaves whose dates
# are chosen: the point of this test is how much of a lifetime is left.
mkdir -p "$P/newcerts"
: >"$P/index.txt"
echo 3001 >"$P/serial"
cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = int
[int]
database = $P/index.txt
new_certs_dir = $P/newcerts
serial = $P/serial
certificate = $P/int.pem
private_key = $P/int.key
default_md = sha256
policy = any
unique_subject = no
x509_extensions = leaf
[any]
organizationName = optional
commonName = supplied
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:$NS
EOF

# dated_leaf NAME FROM TO - an EC leaf for $NS valid from FROM to TO days
# from now (negative: in the past): $P/NAME.key and $P/NAME.pem.
dated_leaf() {
	local now from to
	now=$(date +%s)
	from=$(date -u -d "@$((now + $2 * 86400))" +%y%m%d%H%M%SZ)
	to=$(date -u -d "@$((now + $3 * 86400))" +%y%m%d%H%M%SZ)
	(cd "$P" && umask 077 &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$1.key" 2>/dev/null &&
		openssl req -new -key "$1.key" -subj "/O=Example/CN=$NS" \
			-config ext.cnf -out "$1.csr" &&
		openssl ca -batch -config ca.cnf -notext -startdate "$from" \
			-enddate "$to" -in "$1.csr" -out "$1.pem" 2>"$1.err" &&
		rm -f "$1.csr")
}
if dated_leaf ok -10 80 && dated_leaf warn -35 12 && dated_leaf other -1 89 &&
	dated_leaf expired -40 -1; then
	pass "pki: leaves of 90, 47, 90 and 39 days, dated by openssl ca"
else
	fail "pki: leaves of 90, 47, 90 and 39 days, dated by openssl ca"
	show "$P/ok.err"
	e2e_done
fi
# The dates must be the ones asked for: the checks below compute on them.
life=$(($(date -d "$(openssl x509 -in "$P/warn.pem" -noout -enddate | cut -d= -f2)" +%s) -
	$(date -d "$(openssl x509 -in "$P/warn.pem" -noout -startdate | cut -d= -f2)" +%s)))
expect_eq "pki: the 47-day leaf lives 47 days" "$life" $((47 * 86400))

# ---- two nginx, their agents, and a reader in the fleet -------------------
# ex1's nginx lives in $S, ex2's in $S/ex2; most checks ask ex1 alone.

read -r -d '' N1 N2 < <(free_ports 2) || true
declare -A NPORT=([ex1]=$N1 [ex2]=$N2)
S=$T/srv
declare -A SDIR=([ex1]=$S [ex2]=$S/ex2)
export CERTFLEET_HOME=$T/home
check "fleet: an identity" cf id
ID_FP=$(head -n 1 "$OUT")
for n in ex1 ex2; do
	d=${SDIR[$n]}
	mkdir -p "$d"
	cp "$P/ec.pem" "$d/https.crt"
	cp "$P/ec.key" "$d/https.key"
	chmod 600 "$d/https.key"
	if srv_nginx_start "$d/nginx" "${NPORT[$n]}" "$d/https.crt" "$d/https.key" "$NS"; then
		pass "$n: nginx runs on loopback"
	else
		fail "$n: nginx runs on loopback"
		e2e_done
	fi
	agent_conf "$n"
	cat >>"$T/$n.conf" <<-EOF

		[service https]
		kind = nginx
		chain = $d/https.crt
		key = $d/https.key
		test = $(srv_nginx_test_cmd "$d/nginx")
		reload = $(srv_nginx_reload_cmd "$d/nginx")
		check = 127.0.0.1:${NPORT[$n]}
		name = $NS
		timeout = 10
	EOF
	check "$n: agent init" cfd init --config "$T/$n.conf"
	check "$n: authorize the reader" \
		cfd authorize "$ID_FP" --role reader --config "$T/$n.conf"
	agent_start "$n" || e2e_done
	check "fleet: add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done

# on CMD... - CMD on agent $AT's Unix socket (ex1 by default; root is
# admin there).
on() { CERTFLEET_SOCKET=$SOCKDIR/${AT:-ex1}.sock "$@"; }
# use NAME - import $P/NAME.{pem,key} on agent $AT (once) and enable it
# for https.
use() {
	on cf get "$(thumb "$P/$1.pem")" >/dev/null 2>&1 ||
		on cf import "$P/$1.pem" "$P/$1.key" >"$T/use.out" 2>&1
	on cf enable "$(thumb "$P/$1.pem")" --services https --force >>"$T/use.out" 2>&1
}
# served_is THUMBPRINT - nginx serves it for $NS now.
# shellcheck disable=SC2317 # run by wait_until
served_is() { [ "$(srv_served_thumb tls 127.0.0.1 "$N1" "$NS")" = "$1" ]; }
# served_steady TP - five handshakes in a row see TP: after a reload by
# hand, nginx's old workers may still take a connection or two.
served_steady() {
	local i
	for i in 1 2 3 4 5; do
		served_is "$1" || return 1
	done
}

# nginx_reload - what the agent's reload command does, by hand.
nginx_reload() {
	local cmd
	read -r -a cmd <<<"$(srv_nginx_reload_cmd "$S/nginx")"
	"${cmd[@]}" 2>/dev/null
}

# plugin_is NAME EXIT LINE - the last command's exit status is EXIT, its
# first line is LINE to the byte, and no other line is a status line.
plugin_is() {
	local first n
	first=$(head -n 1 "$OUT")
	n=$(grep -c '^CERTFLEET ' "$OUT")
	if [ "$RC" = "$2" ] && [ "$first" = "$3" ] && [ "$n" = 1 ]; then
		pass "$1"
	else
		fail "$1" "exit $RC (want $2), $n status lines" \
			"got:  $first" "want: $3"
		show "$ERR"
	fi
}

# plug ARGS... - the plugin on ex1 through the fleet, trusting the test CA.
plug() { run cf test "$NS" --server ex1 --ca-file "$ROOT" --plugin "$@"; }

# ---- OK ------------------------------------------------------------------

check "ex1: import the chain" on cf import "$P/int.pem" "$ROOT"
AT=ex2 check "ex2: import the chain" on cf import "$P/int.pem" "$ROOT"
OK_TP=$(thumb "$P/ok.pem")
if use ok; then
	pass "ok: the 90-day leaf serves https"
else
	fail "ok: the 90-day leaf serves https"
	show "$T/use.out"
fi
plug
plugin_is "OK: 80 of 90 days left, exit 0, days and share with their thresholds" 0 \
	"CERTFLEET OK - $NS: 1 certificate on 1 endpoint, 79.9 days left (88.8% of its lifetime) | days=79.9;30:;15: lifetime_left=88.8%;33.3:;16.7:"
expect_eq "OK: a line per endpoint after the status" "$(sed -n 2p "$OUT")" \
	"ex1 https 127.0.0.1:$N1: OK ${OK_TP:0:8}, 79.9 days left (88.8% of its lifetime)"
mkdir -p "$T/bin"
ln -s "$CERTFLEET" "$T/bin/check_certfleet"
run "$T/bin/check_certfleet" "$NS" --server ex1 --ca-file "$ROOT"
plugin_is "OK: named check_certfleet (a link), it is the plugin" 0 \
	"CERTFLEET OK - $NS: 1 certificate on 1 endpoint, 79.9 days left (88.8% of its lifetime) | days=79.9;30:;15: lifetime_left=88.8%;33.3:;16.7:"
run cf test "$NS" --server ex1 --ca-file "$ROOT"
if [ "$RC" = 0 ] && ! grep -q '^CERTFLEET' "$OUT" && grep -q "all valid" "$OUT"; then
	pass "OK: without --plugin, the table and exit 0 as before"
else
	fail "OK: without --plugin, the table and exit 0 as before" "exit $RC"
	show "$OUT"
fi
run cf test "$NS" --via "127.0.0.1:$N1" --count 4 --ca-file "$ROOT" --plugin
plugin_is "OK: --via: 4 connections, one certificate" 0 \
	"CERTFLEET OK - $NS: 1 certificate in 4 connections via 127.0.0.1:$N1, 79.9 days left (88.8% of its lifetime) | days=79.9;30:;15: lifetime_left=88.8%;33.3:;16.7:"

# ---- two endpoints: perfdata per endpoint, distinct certificates, an
# agent not reached ----------------------------------------------------------

PERF_OK="days=79.9;30:;15: lifetime_left=88.8%;33.3:;16.7:"
if AT=ex2 use ok; then
	pass "ex2: the 90-day leaf serves https"
else
	fail "ex2: the 90-day leaf serves https"
	show "$T/use.out"
fi
run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --plugin
plugin_is "OK: two endpoints, perfdata for the first to expire, then each" 0 \
	"CERTFLEET OK - $NS: 1 certificate on 2 endpoints, 79.9 days left (88.8% of its lifetime) | $PERF_OK ex1_https_days=79.9;30:;15: ex1_https_lifetime_left=88.8%;33.3:;16.7: ex2_https_days=79.9;30:;15: ex2_https_lifetime_left=88.8%;33.3:;16.7:"
expect_eq "OK: a line per endpoint" "$(sed -n '2,$p' "$OUT")" \
	"ex1 https 127.0.0.1:$N1: OK ${OK_TP:0:8}, 79.9 days left (88.8% of its lifetime)
ex2 https 127.0.0.1:$N2: OK ${OK_TP:0:8}, 79.9 days left (88.8% of its lifetime)"

WARN_TP=$(thumb "$P/warn.pem")
AT=ex2 use warn
run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --plugin
plugin_is "CRITICAL: two certificates for one name, one of them WARNING" 2 \
	"CERTFLEET CRITICAL - $NS: 2 distinct certificates on 2 endpoints | days=11.9;15.7:;7.8: lifetime_left=25.5%;33.3:;16.7: ex1_https_days=79.9;30:;15: ex1_https_lifetime_left=88.8%;33.3:;16.7: ex2_https_days=11.9;15.7:;7.8: ex2_https_lifetime_left=25.5%;33.3:;16.7:"
expect_eq "CRITICAL: ex2's line says WARNING and why" "$(sed -n 3p "$OUT")" \
	"ex2 https 127.0.0.1:$N2: WARNING ${WARN_TP:0:8}, 11.9 days left (25.5% of its lifetime)"

AT=ex2 use ok
agent_stop ex2
run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --plugin
if [ "$RC" = 3 ] && [ "$(grep -c '^CERTFLEET ' "$OUT")" = 1 ] &&
	head -n 1 "$OUT" | grep -Eq "^CERTFLEET UNKNOWN - $NS: ex2: [^|]*(refused|connect)[^|]* \| $PERF_OK\$" &&
	grep -q "^ex2: UNKNOWN " "$OUT" && grep -q "^ex1 https .*: OK " "$OUT"; then
	pass "UNKNOWN: ex2's agent stopped, ex1 fine: exit 3, ex1's perfdata kept"
else
	fail "UNKNOWN: ex2's agent stopped, ex1 fine: exit 3, ex1's perfdata kept" "exit $RC"
	show "$OUT"
fi

# ---- WARNING ---------------------------------------------------------------

if use warn; then
	pass "warn: the 47-day leaf serves https"
else
	fail "warn: the 47-day leaf serves https"
fi
plug
plugin_is "WARNING: 12 of 47 days left (a third is 15.7), exit 1" 1 \
	"CERTFLEET WARNING - $NS: ex1 https: 11.9 days left (25.5% of its lifetime) | days=11.9;15.7:;7.8: lifetime_left=25.5%;33.3:;16.7:"
plug --warn-days 30 --crit-days 10d
plugin_is "WARNING: --warn-days 30 --crit-days 10d, shares computed per certificate" 1 \
	"CERTFLEET WARNING - $NS: ex1 https: 11.9 days left (25.5% of its lifetime) | days=11.9;30:;10: lifetime_left=25.5%;63.8:;21.3:"
plug --warn-days 20% --crit-days 10%
plugin_is "WARNING's negative: --warn-days 20% --crit-days 10% is OK at 25.5%" 0 \
	"CERTFLEET OK - $NS: 1 certificate on 1 endpoint, 11.9 days left (25.5% of its lifetime) | days=11.9;9.4:;4.7: lifetime_left=25.5%;20:;10:"
plug --warn-days 40% --crit-days 12d
plugin_is "CRITICAL: --crit-days 12d is reached with 11.9 days left" 2 \
	"CERTFLEET CRITICAL - $NS: ex1 https: 11.9 days left (25.5% of its lifetime) | days=11.9;18.8:;12: lifetime_left=25.5%;40:;25.5:"

# ---- CRITICAL ------------------------------------------------------------

# nginx's files changed behind certfleet's back: another valid leaf for
# the same name, trusted, and not the one assigned.
OTHER_TP=$(thumb "$P/other.pem")
cat "$P/other.pem" "$P/int.pem" >"$S/https.crt"
cp "$P/other.key" "$S/https.key"
if nginx_reload &&
	wait_until 10 served_steady "$OTHER_TP"; then
	pass "mismatch: nginx serves another leaf than the assigned one"
else
	fail "mismatch: nginx serves another leaf than the assigned one"
fi
plug
plugin_is "CRITICAL: served is not assigned, exit 2" 2 \
	"CERTFLEET CRITICAL - $NS: ex1 https: serves ${OTHER_TP:0:8}, not the assigned ${WARN_TP:0:8} | days=88.9;30:;15: lifetime_left=98.8%;33.3:;16.7:"

# An expired leaf, which enable refuses even with --force: put in
# nginx's files by hand too.
EXP_TP=$(thumb "$P/expired.pem")
cat "$P/expired.pem" "$P/int.pem" >"$S/https.crt"
cp "$P/expired.key" "$S/https.key"
if nginx_reload &&
	wait_until 10 served_steady "$EXP_TP"; then
	pass "expired: nginx serves an expired leaf"
else
	fail "expired: nginx serves an expired leaf"
fi
plug
plugin_is "CRITICAL: expired (and not assigned), exit 2, days below zero" 2 \
	"CERTFLEET CRITICAL - $NS: ex1 https: expired, serves ${EXP_TP:0:8}, not the assigned ${WARN_TP:0:8} | days=-1.1;13:;6.5: lifetime_left=-2.6%;33.3:;16.7:"
run cf test "$NS" --via "127.0.0.1:$N1" --count 1 --ca-file "$ROOT" --plugin
plugin_is "CRITICAL: --via: expired" 2 \
	"CERTFLEET CRITICAL - $NS: ${EXP_TP:0:8} (1 of 1): expired | days=-1.1;13:;6.5: lifetime_left=-2.6%;33.3:;16.7:"

use ok
run cf test "$NS" --server ex1 --plugin
plugin_is "CRITICAL: a chain the system's roots do not trust" 2 \
	"CERTFLEET CRITICAL - $NS: ex1 https: untrusted: unable to get local issuer certificate | days=79.9;30:;15: lifetime_left=88.8%;33.3:;16.7:"

srv_nginx_stop "$S/nginx"
plug --timeout 2
plugin_is "CRITICAL: nginx down: the handshake fails, no perfdata" 2 \
	"CERTFLEET CRITICAL - $NS: ex1 https: handshake failed: connect: Connection refused"

# ---- UNKNOWN -------------------------------------------------------------

plug --warn-days 10 --crit-days 20
plugin_is "UNKNOWN: --warn-days under --crit-days is a usage error, exit 3" 3 \
	"CERTFLEET UNKNOWN - test: --warn-days 10d must be larger than --crit-days 20d (a warning comes before the critical state)"
if grep -q "^certfleet: test: --warn-days 10d must be larger" "$ERR"; then
	pass "UNKNOWN: the message is on stderr too"
else
	fail "UNKNOWN: the message is on stderr too"
	show "$ERR"
fi
check_fails "usage: without --plugin, the same is exit 2" 2 "must be larger than --crit-days" \
	cf test "$NS" --server ex1 --warn-days 10 --crit-days 20
plug --warn-days 10% --crit-days 10%
plugin_is "UNKNOWN: equal shares are a usage error" 3 \
	"CERTFLEET UNKNOWN - test: --warn-days 10% must be larger than --crit-days 10% (a warning comes before the critical state)"
plug --warn-days soon
plugin_is "UNKNOWN: --warn-days soon" 3 \
	"CERTFLEET UNKNOWN - test: --warn-days soon: give days (30, 30d, at most 36500) or a share of the lifetime (33%)"
plug --bogus
plugin_is "UNKNOWN: an unknown option" 3 "CERTFLEET UNKNOWN - test: unknown option --bogus"
run "$T/bin/check_certfleet"
plugin_is "UNKNOWN: check_certfleet without a namespace" 3 \
	"CERTFLEET UNKNOWN - test: which NAMESPACE? (the name clients ask for)"
plug --json
plugin_is "UNKNOWN: --json does not go with --plugin" 3 \
	"CERTFLEET UNKNOWN - test: --plugin prints a status line: --json, --format and --no-header do not go with it"
run cf test "$NS" --server nosuch --plugin
if [ "$RC" = 3 ] && grep -q "^CERTFLEET UNKNOWN - test: --server nosuch: not in the fleet" "$OUT"; then
	pass "UNKNOWN: a server the fleet lacks"
else
	fail "UNKNOWN: a server the fleet lacks" "exit $RC"
	show "$OUT"
fi

agent_stop ex1
plug
if [ "$RC" = 3 ] && [ "$(grep -c '^CERTFLEET ' "$OUT")" = 1 ] &&
	head -n 1 "$OUT" | grep -Eq "^CERTFLEET UNKNOWN - $NS: ex1: .*(refused|connect)" &&
	! head -n 1 "$OUT" | grep -q '|'; then
	pass "UNKNOWN: the agent stopped: not reached, exit 3"
else
	fail "UNKNOWN: the agent stopped: not reached, exit 3" "exit $RC"
	show "$OUT"
	show "$ERR"
fi

e2e_done
