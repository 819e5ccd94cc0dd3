#!/usr/bin/env bash
# demo.sh - the article, on a farm that runs here: two servers, ex1 and ex2,
# each an agent (certfleetd) with its own nginx for mail.example.com, and
# haproxy balancing round robin in front of them, all on 127.0.0.1.
#
#   1. ex1 requests a certificate from a CA and completes it: it serves
#      the third-party certificate; ex2 still serves its self-signed one;
#   2. certfleet test --via the balancer: users get two certificates, and
#      those sent to ex2 a name mismatch; certfleet test: exit 1;
#   3. certfleet copy --from ex1 --to ex2: one command;
#   4. certfleet test --via: every connection gets the third-party
#      certificate; certfleet test: every endpoint valid, exit 0.
# Everything lives in a temporary directory and is stopped at the end.
#
#   scripts/demo.sh                   (make demo: set-up and build first)
#   DEMO_RESULTS=DIR scripts/demo.sh  also keeps each step's output and exit
#                                     status in DIR (tests/e2e/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CF=$(realpath -m "${CERTFLEET:-$ROOT/build/certfleet}")
CFD=$(realpath -m "${CERTFLEETD:-$ROOT/build/certfleetd}")
[ -x "$CF" ] && [ -x "$CFD" ] || make --no-print-directory all

# die REASON [DETAIL] - the demo stops, saying why (stderr), with exit 1.
die() {
	printf 'demo: stopped: %s\n' "$1" >&2
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/    /' >&2
	STOP_SAID=yes
	exit 1
}
for tool in nginx haproxy openssl jq python3; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing: run scripts/setup-deps.sh (make demo does)"
done

W=$(mktemp -d /tmp/certfleet-demo.XXXXXX)
chmod 711 "$W"
# The farm runs unprivileged: as root, the agents, nginx and haproxy run as
# nobody (high ports, files of their own); certfleet stays the admin's.
AS=()
OWNER=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	OWNER="nobody:$(id -gn nobody)"
	AS=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi
SRV_AS=("${AS[@]}")
PIDS=()
STEP="setting up"
STOP_SAID=no
FAILED=
# shellcheck source=tests/e2e/servers-lib.sh
. "$ROOT/tests/e2e/servers-lib.sh"
# Why the demo stopped, when it stops early: the step, the command that
# failed, and the logs of the farm (gone once $W is removed).
explain() {
	local rc=$1 f lines
	[ "$rc" -ne 0 ] && [ "$STOP_SAID" = no ] || return 0
	printf '\ndemo: stopped during "%s": %s\n' "$STEP" \
		"${FAILED:-exit status $rc}" >&2
	for f in "$W"/*.log "$W"/*/nginx/error.log "$W"/*/nginx/start.err "$W"/lb/start.err; do
		[ -f "$f" ] || continue
		lines=$(grep -v '\[notice\]' "$f" | tail -n 15) || continue
		printf 'demo: %s:\n%s\n' "${f#"$W"/}" "$lines" | sed '2,$s/^/    /' >&2
	done
}
# why STATUS COMMAND LINE - the ERR trap: keeps the first failure.
why() {
	[ -n "$FAILED" ] ||
		FAILED="\`$2\` failed with exit status $1 (scripts/demo.sh line $3)"
}
cleanup() {
	local rc=$? p
	trap - ERR
	explain "$rc"
	srv_stop_all
	[ -f "$W/lb/haproxy.pid" ] && kill "$(cat "$W/lb/haproxy.pid")" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	cd /
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# set -e stops the demo on the first failed command; -E lets this trap see
# failures inside functions, and the first one is the one worth naming.
set -E
trap 'why $? "$BASH_COMMAND" "$LINENO"' ERR

# The farm must not need the clone: it may sit where nobody cannot go
# (root's home is 0700 on Debian).  The agent is copied into $W, and every
# program of the farm starts in $W (haproxy, for one, refuses to start
# when it cannot return to its working directory).
mkdir -m 755 "$W/bin"
cp "$CFD" "$W/bin/certfleetd"
chmod 755 "$W/bin/certfleetd"
CFD=$W/bin/certfleetd
cd "$W"
if [ ${#AS[@]} -gt 0 ] && ! "${AS[@]}" test -x "$CFD"; then
	echo "demo: nobody cannot reach $W: the farm runs as root instead" >&2
	AS=()
	SRV_AS=()
	OWNER=
fi
export CERTFLEET_HOME=$W/admin
RESULTS=${DEMO_RESULTS:-}
[ -z "$RESULTS" ] || echo "$W" >"$RESULTS/workdir" # to prove it is removed

step() {
	STEP=$*
	printf '\n\033[1m== %s\033[0m\n' "$*"
}
say() { printf '%s\n' "$*"; }
# run NAME CMD... - shows and runs CMD; keeps its output and status as NAME.
run() {
	local name=$1 rc=0
	shift
	printf '$ %s\n' "$(echo "$*" | sed "s#$W/##g; s#$CF#certfleet#g")"
	"$@" >"$W/.out" 2>&1 || rc=$?
	sed "s#$W/##g" "$W/.out"
	if [ -n "$RESULTS" ]; then
		cp "$W/.out" "$RESULTS/$name.out"
		echo "$rc" >"$RESULTS/$name.rc"
	fi
	[ "$rc" -eq 0 ] || say "(exit $rc)"
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

step "A CA for the demo: a root and an issuing CA (openssl)"
(
	cd "$W" && umask 077
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/O=Demo CA/CN=Demo Root CA" -keyout root.key -out root.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/O=Demo CA/CN=Demo Issuing CA" -keyout int.key -out int.csr 2>/dev/null
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
	openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial \
		-days 1825 -extfile ca.ext -out int.pem 2>/dev/null
)
say "root.pem (trusted by the servers and by this workstation), int.pem"

step "Two servers, ex1 and ex2: an agent and an nginx each; haproxy in front"
"$CF" id >/dev/null
ID=$("$CF" id | head -n 1)
declare -A WEB
for n in ex1 ex2; do
	WEB[$n]=$(free_port)
	mkdir -p "$W/$n/tls" "$W/$n/nginx"
	# nginx starts on a bootstrap certificate; certfleet then deploys.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj "/CN=$n bootstrap" -keyout "$W/$n/tls/key.pem" -out "$W/$n/tls/chain.pem" 2>/dev/null
	[ -z "$OWNER" ] || chown -R "$OWNER" "$W/$n"
	srv_nginx_start "$W/$n/nginx" "${WEB[$n]}" "$W/$n/tls/chain.pem" "$W/$n/tls/key.pem" mail.example.com
	cat >"$W/$n.conf" <<-EOF
		[agent]
		name = $n
		listen = 127.0.0.1:0
		socket = none
		state = $W/$n/state

		[service https]
		kind = nginx
		chain = $W/$n/tls/chain.pem
		key = $W/$n/tls/key.pem
		test = $(srv_nginx_test_cmd "$W/$n/nginx")
		reload = $(srv_nginx_reload_cmd "$W/$n/nginx")
		check = 127.0.0.1:${WEB[$n]}
		name = mail.example.com
	EOF
	"${AS[@]}" "$CFD" init --config "$W/$n.conf" >/dev/null
	"${AS[@]}" "$CFD" authorize "$ID" --role admin --config "$W/$n.conf" >/dev/null
	"${AS[@]}" "$CFD" run --config "$W/$n.conf" >/dev/null 2>"$W/$n.log" </dev/null &
	PIDS+=($!)
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$W/$n.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || die "$n: certfleetd run does not listen after 10 s; its log:" "$(cat "$W/$n.log")"
	"$CF" fleet add "$n" "127.0.0.1:$port" --fingerprint "$("$CFD" fingerprint --config "$W/$n.conf")" >/dev/null
	host=$("$CF" --server "$n" get --json | jq -r '.Items[0].Thumbprint')
	"$CF" --server "$n" enable "$host" --services https --force >/dev/null
	say "$n: agent on 127.0.0.1:$port, nginx on 127.0.0.1:${WEB[$n]} serving $n's self-signed certificate${OWNER:+ (both as nobody)}"
done
LB=$(free_port)
mkdir -p "$W/lb"
[ -z "$OWNER" ] || chown "$OWNER" "$W/lb"
cat >"$W/lb/haproxy.cfg" <<EOF
global
	daemon
	pidfile $W/lb/haproxy.pid
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend mail
	bind 127.0.0.1:$LB
	default_backend farm
backend farm
	balance roundrobin
	server ex1 127.0.0.1:${WEB[ex1]}
	server ex2 127.0.0.1:${WEB[ex2]}
EOF
"${AS[@]}" haproxy -f "$W/lb/haproxy.cfg" 2>"$W/lb/start.err" ||
	die "haproxy did not start; its messages:" "$(cat "$W/lb/start.err")"
srv_wait_port 127.0.0.1 "$LB" || die "haproxy: nothing accepts on 127.0.0.1:$LB"
say "haproxy: mail.example.com is 127.0.0.1:$LB, round robin over ex1 and ex2 (TLS passes through)"
run fleet "$CF" fleet list
if [ -n "$RESULTS" ]; then # who runs the farm: agents, nginx, haproxy
	ps -eo user:20,args | grep -F "$W/" | grep -v -e grep -e 'ps -eo' |
		awk '{ print $1 }' | sort -u >"$RESULTS/farm-users"
fi

step "ex1: a certificate from the CA, as New-ExchangeCertificate -GenerateRequest does"
run trust "$CF" --server ex1,ex2 import "$W/root.pem" "$W/int.pem"
run request "$CF" --server ex1 request new --subject "CN=mail.example.com,O=Example Ltd" \
	--domains mail.example.com,autodiscover.example.com --exportable -o "$W/mail.csr"
(
	cd "$W"
	printf 'subjectAltName=DNS:mail.example.com,DNS:autodiscover.example.com\nextendedKeyUsage=serverAuth\n' >leaf.ext
	openssl x509 -req -in mail.csr -CA int.pem -CAkey int.key -CAcreateserial -days 397 \
		-extfile leaf.ext -out mail.pem 2>/dev/null
	cat mail.pem int.pem >answer.pem
)
say "(the CA signs mail.csr: answer.pem, with its chain)"
run complete "$CF" --server ex1 request complete "$W/answer.pem"
TP=$(openssl x509 -in "$W/mail.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
run enable "$CF" --server ex1 enable "$TP" --services IIS --force
run get "$CF" --server ex1,ex2 get --fields Server,Thumbprint,Status,Services,Subject

step "What users behind the balancer get: half of them a security error"
run via-before "$CF" test mail.example.com --via "127.0.0.1:$LB" --count 20 --ca-file "$W/root.pem"
run test-before "$CF" test mail.example.com --server ex1,ex2 --ca-file "$W/root.pem"

step "The fix, in one command: copy the certificate, its key, chain and services"
run copy "$CF" copy "$TP" --from ex1 --to ex2

step "Every user, every endpoint"
run via-after "$CF" test mail.example.com --via "127.0.0.1:$LB" --count 20 --ca-file "$W/root.pem"
run test-after "$CF" test mail.example.com --server ex1,ex2 --ca-file "$W/root.pem"
run services "$CF" services --server ex1,ex2
run log "$CF" --server ex2 log

step "Done: stopping the agents, nginx and haproxy"
