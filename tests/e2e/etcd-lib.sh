# shellcheck shell=bash
# etcd-lib.sh - a private etcd cluster of three members on loopback, with
# TLS everywhere (sourced after lib.sh, never run).
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/etcd-lib.sh"
#   etcd_cluster_start [--rbac]
#
# Gives a script: a test PKI made by openssl in $T/etcd-pki (etcd_pki);
# three members n1..n3 whose client and peer ports the kernel gave out
# (free_ports), client and peer certificates required (--client-cert-auth,
# --peer-client-cert-auth); ETCD_URLS, the members' client URLs, and
# ETCD_ENDPOINTS, the same joined by commas; etcd_ctl, etcdctl as root;
# cfe, build/cf-etcd with the transport options; and an EXIT trap that
# stops every member this shell started, then removes $T.
#
# With --rbac: users root (role root) and agent-a (role agent-a: read on
# /certfleet/ns/, readwrite on /certfleet/status/agent-a), passwords in
# $T/etcd-pki/{root,agent-a}.pw (0600), and authentication enabled.
#
# ETCD_TOKEN_TTL: seconds an idle simple token lives (etcd's default 300).
#
# Client certificates carry no CN: etcd 3.4's gateway refuses one that
# does once authentication is on (cn-client.pem is such a certificate, for
# the test that says so).  Debian's etcd is 3.4.23 (scripts/setup-deps.sh).

ETCD_PIDS=()
ETCD_URLS=()
ETCD_PEER_URLS=()
ETCD_ENDPOINTS=
ETCD_PKI=$T/etcd-pki
: "${CF_ETCD:=$E2E_ROOT/build/cf-etcd}"

# etcd_stop_all - kills every member this shell started (for EXIT traps).
etcd_stop_all() {
	local p
	for p in "${ETCD_PIDS[@]}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	for p in "${ETCD_PIDS[@]}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	return 0
}
trap 'etcd_stop_all; rm -rf "$T"' EXIT

# etcd__cert NAME SUBJECT EKU - an EC P-256 key and certificate signed by
# the test CA, SAN IP:127.0.0.1.
etcd__cert() {
	local d=$ETCD_PKI name=$1 subj=$2 eku=$3
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/$name.key" -subj "$subj" -out "$d/$name.csr" 2>/dev/null &&
		printf '%s\n' "subjectAltName = IP:127.0.0.1, DNS:localhost" \
			"extendedKeyUsage = $eku" >"$d/$name.ext" &&
		openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" \
			-CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null
}

# etcd_pki - the CA, one certificate per member (server, peer and the
# gateway's own client: serverAuth and clientAuth), the CN-less client
# certificate, one with a CN, and one from another CA.
etcd_pki() {
	local d=$ETCD_PKI i
	mkdir -p "$d"
	(umask 077 && openssl req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
		-subj "/CN=certfleet e2e etcd CA" -days 2 -out "$d/ca.pem" \
		2>/dev/null) || return 1
	for i in 1 2 3; do
		etcd__cert "n$i" "/O=certfleet-e2e/OU=etcd-n$i" \
			"serverAuth, clientAuth" || return 1
	done
	etcd__cert client "/O=certfleet-e2e/OU=client" clientAuth &&
		etcd__cert cn-client "/CN=agent-a" clientAuth || return 1
	(umask 077 && openssl req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/other-ca.key" \
		-subj "/CN=another CA" -days 2 -out "$d/other-ca.pem" 2>/dev/null)
}

# etcd_member_start I - starts member nI (its data directory is kept
# across restarts), logging to $T/etcd-nI.log.
etcd_member_start() {
	local i=$1 d=$ETCD_PKI
	etcd --name "n$i" --data-dir "$T/etcd-n$i" \
		--listen-client-urls "${ETCD_URLS[$i - 1]}" \
		--advertise-client-urls "${ETCD_URLS[$i - 1]}" \
		--listen-peer-urls "${ETCD_PEER_URLS[$i - 1]}" \
		--initial-advertise-peer-urls "${ETCD_PEER_URLS[$i - 1]}" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "cf-e2e-$$" \
		--cert-file "$d/n$i.pem" --key-file "$d/n$i.key" \
		--trusted-ca-file "$d/ca.pem" --client-cert-auth \
		--peer-cert-file "$d/n$i.pem" --peer-key-file "$d/n$i.key" \
		--peer-trusted-ca-file "$d/ca.pem" --peer-client-cert-auth \
		--heartbeat-interval 50 --election-timeout 500 \
		--auth-token-ttl "${ETCD_TOKEN_TTL:-300}" \
		--log-level warn --logger zap \
		>>"$T/etcd-n$i.log" 2>&1 &
	ETCD_PIDS[i - 1]=$!
}

# etcd_member_kill I - SIGKILL of member nI.
etcd_member_kill() {
	local p=${ETCD_PIDS[$1 - 1]}
	[ -n "$p" ] || return 0
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	ETCD_PIDS[$1 - 1]=
}

# etcd_healthy URL - the member at URL answers /health true.
etcd_healthy() {
	curl -sf --max-time 2 --cacert "$ETCD_PKI/ca.pem" \
		--cert "$ETCD_PKI/client.pem" --key "$ETCD_PKI/client.key" \
		"$1/health" 2>/dev/null | grep -q '"health":"true"'
}

# etcd_wait_healthy [SECONDS] - polls every member until each is healthy
# (default 20 s); 1 with the members' logs shown when one is not.
etcd_wait_healthy() {
	local deadline=$((SECONDS + ${1:-20})) u ok
	while [ "$SECONDS" -lt "$deadline" ]; do
		ok=1
		for u in "${ETCD_URLS[@]}"; do
			etcd_healthy "$u" || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	tail -n 5 "$T"/etcd-n*.log | sed 's/^/    | /'
	return 1
}

# etcd_ctl ARGS... - etcdctl over TLS (as root once RBAC is on; the
# password goes by environment, not argv).
etcd_ctl() {
	local user=
	[ -s "$ETCD_PKI/root.pw" ] && [ -e "$ETCD_PKI/auth-on" ] &&
		user="root:$(cat "$ETCD_PKI/root.pw")"
	ETCDCTL_USER=$user timeout -k 2 20 etcdctl --endpoints "$ETCD_ENDPOINTS" \
		--cacert "$ETCD_PKI/ca.pem" --cert "$ETCD_PKI/client.pem" \
		--key "$ETCD_PKI/client.key" "$@"
}

# cfe ARGS... - cf-etcd with the CA and the CN-less client certificate;
# as user $CFE_USER (password file $ETCD_PKI/$CFE_USER.pw) when set.
cfe() {
	local auth=()
	[ -n "${CFE_USER:-}" ] &&
		auth=(--user "$CFE_USER" --password-file "$ETCD_PKI/$CFE_USER.pw")
	timeout -k 2 "${CFE_TIMEOUT:-30}" "$CF_ETCD" \
		--endpoints "${CFE_ENDPOINTS:-$ETCD_ENDPOINTS}" \
		--ca "$ETCD_PKI/ca.pem" --cert "$ETCD_PKI/client.pem" \
		--key "$ETCD_PKI/client.key" "${auth[@]}" "$@"
}

# etcd__rbac - users, roles, then authentication on.  etcdctl takes new
# passwords only in argv: acceptable for a throw-away test cluster.
etcd__rbac() {
	local p=$ETCD_PKI
	(umask 077 && openssl rand -hex 12 >"$p/root.pw" &&
		openssl rand -hex 12 >"$p/agent-a.pw") || return 1
	etcd_ctl user add root --new-user-password "$(cat "$p/root.pw")" &&
		etcd_ctl user grant-role root root &&
		etcd_ctl role add agent-a &&
		etcd_ctl role grant-permission agent-a --prefix=true read /certfleet/ns/ &&
		etcd_ctl role grant-permission agent-a readwrite /certfleet/status/agent-a &&
		etcd_ctl user add agent-a --new-user-password "$(cat "$p/agent-a.pw")" &&
		etcd_ctl user grant-role agent-a agent-a &&
		etcd_ctl auth enable && : >"$p/auth-on"
}

# etcd_cluster_start [--rbac] - the PKI, three members, health; RBAC on
# request.  1 (with the logs shown) when the cluster did not come up.
etcd_cluster_start() {
	local ports i
	require_tools etcd etcdctl openssl curl
	[ -x "$CF_ETCD" ] || {
		fail "$E2E_NAME: cf-etcd" "not found at $CF_ETCD (run make)"
		e2e_done
	}
	etcd_pki || return 1
	mapfile -t ports < <(free_ports 6)
	ETCD_CLUSTER=
	for i in 1 2 3; do
		ETCD_URLS[i - 1]=https://127.0.0.1:${ports[$i - 1]}
		ETCD_PEER_URLS[i - 1]=https://127.0.0.1:${ports[$i + 2]}
		ETCD_CLUSTER+=${ETCD_CLUSTER:+,}n$i=${ETCD_PEER_URLS[$i - 1]}
	done
	ETCD_ENDPOINTS=$(
		IFS=,
		echo "${ETCD_URLS[*]}"
	)
	for i in 1 2 3; do
		etcd_member_start "$i"
	done
	etcd_wait_healthy 20 || return 1
	if [ "${1:-}" = --rbac ]; then
		etcd__rbac >"$T/etcd-rbac.log" 2>&1 || {
			sed 's/^/    | /' "$T/etcd-rbac.log"
			return 1
		}
	fi
}

# etcd_leader - the index (1..3) of the member that leads now.
etcd_leader() {
	local i json
	for i in 1 2 3; do
		[ -n "${ETCD_PIDS[$i - 1]}" ] || continue
		json=$(ETCD_ENDPOINTS=${ETCD_URLS[$i - 1]} etcd_ctl endpoint status \
			-w json 2>/dev/null) || continue
		if [ "$(jq -r '.[0].Status.leader' <<<"$json")" = \
			"$(jq -r '.[0].Status.header.member_id' <<<"$json")" ]; then
			echo "$i"
			return 0
		fi
	done
	return 1
}
