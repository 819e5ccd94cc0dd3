#!/usr/bin/env bash
# services.sh - `certfleet enable` deploys to real servers, proves it by
# handshakes, and rolls back; `certfleet services` shows what is served.
#
# One private certfleetd (driven as root over its Unix socket) deploys to
# private instances of Debian's nginx (https), haproxy through its runtime
# API (lb), postfix (smtp, STARTTLS) and dovecot (imap and pop, STARTTLS),
# all on 127.0.0.1.  Every served certificate is read by openssl s_client,
# not by certfleet.
#
#   bash tests/e2e/services.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

for tool in "$CERTFLEETD" nginx haproxy postfix dovecot doveadm doveconf \
	openssl python3 jq; do
	if ! command -v "$tool" >/dev/null; then
		fail "services: $tool" "not found (scripts/setup-deps.sh installs it)"
		e2e_done
	fi
done

read -r -d '' HTTPS LB SMTP IMAP POP < <(free_ports 5) || true

# ---- certificates: three for mail.example.com, A served at the start --------

P=$T/pki
make_pki "$P"
# newleaf NAME SERIAL - make_leaf, with NAME.chain (leaf, intermediate)
# and NAME.both (the chain and the key).
newleaf() {
	make_leaf "$P" "$1" "$2" &&
		(cd "$P" && cat "$1.pem" int.pem >"$1.chain" && cat "$1.chain" "$1.key" >"$1.both")
}
cp "$P/leaf.pem" "$P/a.pem" && cp "$P/leaf.key" "$P/a.key"
(cd "$P" && cat a.pem int.pem >a.chain && cat a.chain a.key >a.both &&
	cat a.pem int.pem root.pem >a.full && cat a.full a.key >a.fullboth)
newleaf b 3001
newleaf c 3002
A=$(thumb "$P/a.pem")
B=$(thumb "$P/b.pem")
C=$(thumb "$P/c.pem")

# ---- the servers, each serving A from its own files --------------------------

S=$T/srv
mkdir -p "$S/files"
# As many deployments are: the root in the chain files (certfleet leaves
# it out, so the first enable writes them).
for f in nginx.crt:a.full nginx.key:a.key lb.pem:a.fullboth mail.crt:a.full \
	mail.key:a.key dove.crt:a.full dove.key:a.key; do
	cp "$P/${f#*:}" "$S/files/${f%%:*}"
done
chmod 600 "$S/files/"*.key "$S/files/lb.pem"
started=1
srv_nginx_start "$S/nginx" "$HTTPS" "$S/files/nginx.crt" "$S/files/nginx.key" mail.example.com || started=0
srv_haproxy_start "$S/haproxy" "$LB" "$S/files/lb.pem" || started=0
srv_postfix_start "$S/postfix" "$SMTP" "$S/files/mail.crt" "$S/files/mail.key" || started=0
srv_dovecot_start "$S/dovecot" "$IMAP" "$POP" "$S/files/dove.crt" "$S/files/dove.key" || started=0
if [ "$started" = 1 ]; then
	pass "servers: nginx, haproxy, postfix and dovecot run on loopback"
else
	fail "servers: nginx, haproxy, postfix and dovecot run on loopback"
	e2e_done
fi

# served PROTO PORT - the thumbprint the server presents now (s_client).
served() { srv_served_thumb "$1" 127.0.0.1 "$2" mail.example.com; }
# served_eventually PROTO PORT WANT - polls for up to 10 s, until WANT is
# served three times in a row (after a reload nginx's old workers may
# still take a connection or two).
served_eventually() {
	local got= ok=0
	for _ in $(seq 50); do
		if got=$(served "$1" "$2") && [ "$got" = "$3" ]; then
			ok=$((ok + 1))
			[ "$ok" -ge 3 ] && break
		else
			ok=0
		fi
		sleep 0.2
	done
	echo "$got"
}
expect_eq "servers: nginx serves A" "$(served tls "$HTTPS")" "$A"
expect_eq "servers: haproxy serves A" "$(served tls "$LB")" "$A"
expect_eq "servers: postfix serves A (STARTTLS)" "$(served smtp "$SMTP")" "$A"
expect_eq "servers: dovecot serves A (imap STARTTLS)" "$(served imap "$IMAP")" "$A"

# The nginx and postfix reloads go through a wrapper, $S/reload-NAME, that
# fails once when $S/fail-NAME exists: a reload that fails while the
# config test passes.  (Commands are short: a configuration line is at
# most 198 characters.)
for n in nginx postfix; do
	cat >"$S/reload-$n" <<EOF
#!/bin/sh
if [ -e "$S/fail-$n" ]; then
	rm -f "$S/fail-$n"
	echo "$n: [alert] reload refused by the test" >&2
	exit 1
fi
exec $(srv_${n}_reload_cmd "$S/$n")
EOF
	chmod 755 "$S/reload-$n"
done

# ---- the agent ----------------------------------------------------------

agent_conf sv1
cat >>"$T/sv1.conf" <<EOF

[service IIS]
kind = nginx
chain = $S/files/nginx.crt
key = $S/files/nginx.key
test = $(srv_nginx_test_cmd "$S/nginx")
reload = $S/reload-nginx
check = 127.0.0.1:$HTTPS
name = mail.example.com
timeout = 10

[service lb]
kind = haproxy
pem = $S/files/lb.pem
runtime_api = $(srv_haproxy_socket "$S/haproxy")
test = $(srv_haproxy_test_cmd "$S/haproxy")
check = 127.0.0.1:$LB
name = mail.example.com
timeout = 10

[service smtp]
kind = postfix
chain = $S/files/mail.crt
key = $S/files/mail.key
test = $(srv_postfix_test_cmd "$S/postfix")
reload = $S/reload-postfix
check = 127.0.0.1:$SMTP
name = mail.example.com
timeout = 15

[service imap]
kind = dovecot
chain = $S/files/dove.crt
key = $S/files/dove.key
test = $(srv_dovecot_test_cmd "$S/dovecot")
reload = $(srv_dovecot_reload_cmd "$S/dovecot")
check = 127.0.0.1:$IMAP
name = mail.example.com
timeout = 15

[service pop]
kind = dovecot
chain = $S/files/dove.crt
key = $S/files/dove.key
test = $(srv_dovecot_test_cmd "$S/dovecot")
reload = $(srv_dovecot_reload_cmd "$S/dovecot")
check = 127.0.0.1:$POP
name = mail.example.com
timeout = 15

[service www]
kind = files
chain = $S/files/www.crt
key = $S/files/www.key
check = 127.0.0.1:$HTTPS
name = www.example.org
EOF
check "agent: init" cfd init --config "$T/sv1.conf"
# Every service init would give the host certificate serves A already:
# init leaves them alone rather than put a self-signed certificate there.
expect_eq "init: https, smtp, imap and pop left as they are" \
	"$(grep -c "left as it is: its files hold ${A:0:8}" "$OUT")" 4
expect_eq "init: nginx still serves A" "$(served tls "$HTTPS")" "$A"
agent_start sv1 || e2e_done
export CERTFLEET_SOCKET=$SOCKDIR/sv1.sock
run cf services --json
expect_eq "services: after init: exit 0, nothing reported" "$RC:$(cat "$ERR")" "0:"
expect_eq "services: after init: https has nothing assigned, and says what to run" \
	"$(jq -r '.Items[] | select(.Service == "https") | "\(.Assigned)|\(.Match)|\(.Problem)"' "$OUT")" \
	'null|null|no certificate assigned: run `certfleet enable THUMBPRINT --services https`'

check "import: the chain" cf import "$P/int.pem" "$P/root.pem"
check "import: A, B and C with their keys" cf import "$P/a.pem" "$P/a.key"
check "import: B" cf import "$P/b.pem" "$P/b.key"
check "import: C" cf import "$P/c.pem" "$P/c.key"
check "import: mail.example.com without its key" cf import "$P/ec.pem"
EC=$(thumb "$P/ec.pem")

# svc NAME FIELD - a field of `certfleet services --json` for service NAME.
svc() {
	cf services --json 2>/dev/null | jq -r --arg n "$1" \
		".Items[] | select(.Service == \$n) | .$2 | tostring"
}

# ---- refusals: before anything is touched -----------------------------------

snap_files() { (cd "$S/files" && sha256sum ./* 2>/dev/null); }
before=$(snap_files)
check_fails "refuse: a certificate without its key" 1 "no private key" \
	cf enable "$EC" --services https
check_fails "refuse: names that do not cover the service's" 1 \
	"do not cover www.example.org" cf enable "$A" --services www
expect_eq "refuse: no file touched" "$(snap_files)" "$before"
expect_eq "refuse: no reload happened (nginx still serves A)" "$(served tls "$HTTPS")" "$A"

# ---- A takes the services init left alone --------------------------------

check "enable: A for https, smtp, imap and pop (nobody holds them: no --force)" \
	cf enable "$A" --services https,smtp,imap,pop
if [ "$(grep -c ': deployed: files written, config tested, reloaded, serves' "$OUT")" = 3 ] &&
	grep -q "pop: unchanged" "$OUT"; then
	pass "enable: https, smtp and imap deployed; pop shares imap's files: unchanged"
else
	fail "enable: https, smtp and imap deployed; pop shares imap's files: unchanged"
	show "$OUT"
fi
check "services: exit 0 while every service matches its assignment" cf services
expect_eq "services: lb has nothing assigned: Match null" "$(svc lb Match)" null

# ---- nginx: B becomes what https serves ------------------------------------

check "nginx: enable B for IIS" cf enable "$B" --services IIS --force
if grep -q "https: deployed: files written, config tested, reloaded, serves ${B:0:8}" "$OUT"; then
	pass "nginx: enable says written, tested, reloaded, served"
else
	fail "nginx: enable says written, tested, reloaded, served"
	show "$OUT"
fi
expect_eq "nginx: s_client -servername sees B" "$(served tls "$HTTPS")" "$B"
expect_eq "nginx: the chain file holds B's chain" \
	"$(openssl x509 -in "$S/files/nginx.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')" "$B"
expect_eq "nginx: the key file is 0600" "$(stat -c %a "$S/files/nginx.key")" 600
expect_eq "services: https assigned B" "$(svc https Assigned)" "$B"
expect_eq "services: https serves B" "$(svc https Served)" "$B"
expect_eq "services: https matches" "$(svc https Match)" true

# The same again: nothing written, no reload.
reloads_before=$(grep -c 'signal process started' "$S/nginx/error.log")
check "nginx: enable B again" cf enable "$B" --services https
if grep -q "https: unchanged" "$OUT"; then pass "nginx: the same files again: unchanged"; else
	fail "nginx: the same files again: unchanged"
	show "$OUT"
fi
expect_eq "nginx: unchanged: no reload" \
	"$(grep -c 'signal process started' "$S/nginx/error.log")" "$reloads_before"

# ---- rollbacks: a failed config test, a failed reload ---------------------

before=$(snap_files)
cp "$S/nginx/nginx.conf" "$T/nginx.conf.good"
echo "this is not nginx syntax" >>"$S/nginx/nginx.conf"
check_fails "rollback: a failing config test is an error naming the step" 1 \
	"https: config test failed.*previous files are back" cf enable "$C" --services https --force
cp "$T/nginx.conf.good" "$S/nginx/nginx.conf"
expect_eq "rollback: config test: the files are byte-identical" "$(snap_files)" "$before"
expect_eq "rollback: config test: B is still served" "$(served tls "$HTTPS")" "$B"
expect_eq "rollback: config test: https still assigned B" "$(svc https Assigned)" "$B"

touch "$S/fail-nginx"
check_fails "rollback: a failing reload is an error naming the step" 1 \
	"https: reload failed.*reload refused by the test.*serves ${B:0:8} again" \
	cf enable "$C" --services https --force
expect_eq "rollback: reload: the files are byte-identical" "$(snap_files)" "$before"
expect_eq "rollback: reload: B is still served" "$(served tls "$HTTPS")" "$B"
expect_eq "rollback: reload: https still assigned B" "$(svc https Assigned)" "$B"

# Two services in one command: the second fails, the first is undone.
touch "$S/fail-postfix"
check_fails "rollback: https deployed, then smtp fails: both undone" 1 \
	"smtp: reload failed.*undone: https back on ${B:0:8}" \
	cf enable "$C" --services https,smtp --force
expect_eq "rollback: https serves B again" "$(served tls "$HTTPS")" "$B"
expect_eq "rollback: smtp serves A still" "$(served smtp "$SMTP")" "$A"
expect_eq "rollback: every file byte-identical" "$(snap_files)" "$before"
expect_eq "rollback: the store still has https on B, smtp on A" \
	"$(svc https Assigned)/$(svc smtp Assigned)" "$B/$A"
run cf log
if grep -q "enable.*failed: https: reload failed" "$OUT"; then
	pass "audit: the failed enable and its rollback are in the log"
else
	fail "audit: the failed enable and its rollback are in the log"
	show "$OUT" 20
fi

# ---- haproxy: through the runtime API, no restart -------------------------

HAPID=$(cat "$S/haproxy/haproxy.pid")
check "haproxy: enable B for lb" cf enable "$B" --services lb --force
expect_eq "haproxy: s_client sees B" "$(served tls "$LB")" "$B"
expect_eq "haproxy: no restart (same pid)" "$(cat "$S/haproxy/haproxy.pid")" "$HAPID"
expect_eq "haproxy: the file on disk holds B" \
	"$(openssl x509 -in "$S/files/lb.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')" "$B"
check "haproxy: restart" srv_haproxy_restart "$S/haproxy"
expect_eq "haproxy: after a restart B is still served" "$(served tls "$LB")" "$B"

# ---- postfix and dovecot: STARTTLS ------------------------------------------

check "postfix: enable B for smtp" cf enable "$B" --services smtp --force
expect_eq "postfix: STARTTLS on smtp sees B" "$(served smtp "$SMTP")" "$B"
check "dovecot: enable B for imap and pop" cf enable "$B" --services imap,pop --force
expect_eq "dovecot: STARTTLS on imap sees B" "$(served imap "$IMAP")" "$B"
expect_eq "dovecot: STARTTLS on pop sees B" "$(served pop3 "$POP")" "$B"
for s in https lb smtp imap pop; do
	expect_eq "services: $s matches B" "$(svc $s Served)/$(svc $s Match)" "$B/true"
done

# ---- drift -----------------------------------------------------------

# A file changed behind certfleet's back.
cp "$P/c.chain" "$S/files/nginx.crt"
cp "$P/c.key" "$S/files/nginx.key"
check_fails "drift: a changed file makes services exit 1, naming it" 1 \
	"https: the files hold ${C:0:8}, not the assigned ${B:0:8}: changed outside certfleet; \`certfleet enable ${B:0:8} --services https\` puts it back" cf services
expect_eq "drift: changed file: Match false" "$(svc https Match)" false
# A reload that never happened: the files are right, the server is not.
$(srv_nginx_reload_cmd "$S/nginx") 2>/dev/null
expect_eq "drift: nginx reloaded by hand serves C" "$(served_eventually tls "$HTTPS" "$C")" "$C"
cp "$P/b.chain" "$S/files/nginx.crt"
cp "$P/b.key" "$S/files/nginx.key"
check_fails "drift: a missing reload makes services exit 1, naming it" 1 \
	"https: serves ${C:0:8}, not the ${B:0:8} its files hold: the service was not reloaded" \
	cf services
expect_eq "drift: missing reload: Served C, Match false" \
	"$(svc https Served)/$(svc https Match)" "$C/false"
check "drift: enable repairs it" cf enable "$B" --services https
expect_eq "drift: repaired: served B" "$(served tls "$HTTPS")" "$B"
check "drift: services exit 0 again" cf services

e2e_done
