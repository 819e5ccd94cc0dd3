# shellcheck shell=bash
# shellcheck disable=SC2034 # FARM_* are for the scripts that source this
# shellcheck disable=SC2004 # APID, APORT, AFP: agent-lib.sh's, associative
# acme-farm-lib.sh - a farm that gets its certificate from a real ACME CA
# (issue 14), for `certfleet issue` and `certfleet autopilot` tests.
# Sourced after lib.sh, agent-lib.sh and servers-lib.sh; not a test
# itself.  Everything runs on loopback and is stopped at exit:
#
#   members ex1 ex2 ex3   each a certfleetd and an nginx on its own address
#                         FARM_IP[exN] = 127.0.1.N: the agent's API (port 0,
#                         the kernel's), nginx on FARM_HP (plain HTTP,
#                         /.well-known/acme-challenge/ from FARM_WWW[exN],
#                         the agent's acme_webroot for service https) and
#                         on FARM_TP (TLS, the https service the agent
#                         deploys: files in $T/srv/exN, SNI FARM_NS)
#   haproxy on FARM_LB_IP (127.0.1.10): FARM_HP in http mode, FARM_TP in
#                         tcp mode (TLS passes through), round robin over
#                         the three; the namespace's --via is FARM_VIA
#   pebble-challtestsrv   DNS on 127.0.0.1:FARM_CTS_DNS, every name
#                         127.0.1.10, so the CA validates through haproxy
#   pebble                farm_pebble_start NAME DNS_PORT: validation on
#                         (PEBBLE_VA_ALWAYS_VALID unset), no sleeps, no
#                         authorization reuse (FARM_AUTHZREUSE, default
#                         0: every order is validated), httpPort FARM_HP;
#                         HTTPS trusted through FARM_ACME_CA only
#   BIND 9 (optional)     farm_bind_start: the primary of example.com on
#                         127.0.0.1:FARM_DNS_PORT, RFC 2136 updates of TXT
#                         records signed with the TSIG key FARM_TSIG
#
# farm_start does it all for the default farm and ends the script
# (e2e_done) when a piece does not come up; each piece is one PASS line:
#   pebble "pebble" (FARM_DIR, its issuing root in FARM_ROOT), the
#   members, serving FARM_OLD (make_pki's mail.example.com leaf, which
#   pebble's root does not sign) and holding FARM_ROOT in their stores
#   (a farm on a private CA must: an agent deploys no chain that ends
#   at an issuer it does not know), the balancer, the fleet (CERTFLEET_HOME
#   = $T/home, the fleet file FARM_FLEET, every agent pinned and the admin
#   authorized; each agent a transfer peer of the others), the ACME
#   account FARM_ACCOUNT ("le") on ex1, and the namespace FARM_NS
#   (mail.example.com: --servers ex1,ex2,ex3 --services https --via
#   FARM_VIA, issuer acme:le, http-01, p256, --http-port FARM_HP).
#   Also set: FARM_PEBBLE_LOG (pebble's log: "Attempting to validate w/
#   HTTP" lines, "POST /chalZ/" when the client asks for validation),
#   FARM_WEB (the 0755 directory outside $T holding the webroots, where
#   a decoy webroot may go), FARM_MEMBERS (ex1 ex2 ex3); each nginx logs
#   to $T/srv/exN/nginx/access.log (pebble's VA: LetsEncrypt-Pebble-VA).
#
# Functions for the checks (none prints PASS or FAIL):
#   farm_served N [ROOT]   the thumbprint member N's nginx serves on
#                          FARM_TP (SNI FARM_NS); with ROOT, only when the
#                          chain verifies against it (openssl s_client
#                          -verify_return_error), else status 1
#   farm_served_via [ROOT] the same through haproxy (FARM_VIA)
#   farm_served_all        "ex1=T1 ex2=T2 ex3=T3"
#   farm_served_pem N      the leaf member N serves, as PEM
#   farm_tokens            the tokens every agent lists (GET
#                          /v1/acme/challenges), "ex1:TOK ..."; "" when none
#   farm_thumbs N          the thumbprints in member N's store, sorted
#   farm_trust ROOT        imports the CA certificate ROOT on every member
#   farm_balancer_restart [deny]   haproxy restarted; with deny, its http
#                          frontend answers every challenge 404 itself (a
#                          balancer that does not pass them on)
#   farm_agent_restart N   member N's agent, once stopped (agent_stop,
#                          agent_kill), started again on the address and
#                          port it had; 1 when it does not listen in 10 s
#   farm_webroot N DIR     member N's nginx serves the challenges from DIR
#                          (its config rewritten, reloaded; returns once a
#                          probe file of DIR is served, 10 s at most)
#   farm_pebble_start NAME DNS_PORT   one more pebble: FARM_PDIR[NAME] its
#                          directory URL, FARM_PROOT[NAME] its root,
#                          FARM_PLOG[NAME] its log
#   farm_bind_start        BIND, as above; 1 when it does not answer
#   farm_cleanup           the EXIT trap this file sets; a script with more
#                          to stop sets its own and calls it last
#
#   . "$HERE/lib.sh"; . "$HERE/agent-lib.sh"; . "$HERE/servers-lib.sh"
#   . "$HERE/acme-farm-lib.sh"
#   farm_start
#   check "issue" cf issue "$FARM_NS" --acme-ca-file "$FARM_ACME_CA" --ca-file "$FARM_ROOT"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
: "${FARM_AUTHZREUSE:=0}"
FARM_NS=mail.example.com
FARM_MEMBERS=(ex1 ex2 ex3)
FARM_LB_IP=127.0.1.10
FARM_ACCOUNT=le
declare -A FARM_IP=([ex1]=127.0.1.1 [ex2]=127.0.1.2 [ex3]=127.0.1.3)
declare -A FARM_WWW=() FARM_PDIR=() FARM_PROOT=() FARM_PLOG=()
FARM_PIDS=()
# farm__ports N - free_ports, but bound on 0.0.0.0: free on every
# loopback address, as FARM_HP and FARM_TP serve on four of them.
farm__ports() {
	python3 - "$1" <<-'EOF'
		import socket, sys
		socks = []
		for _ in range(int(sys.argv[1])):
		    s = socket.socket()
		    s.bind(("0.0.0.0", 0))
		    socks.append(s)
		print(" ".join(str(s.getsockname()[1]) for s in socks))
	EOF
}
read -r FARM_HP FARM_TP FARM_CTS_DNS FARM_CTS_MGMT FARM_DNS_PORT < <(farm__ports 5)
FARM_VIA=$FARM_LB_IP:$FARM_TP
FARM_ACME_CA=$T/acme-tls/ca.pem
FARM_TSIG=$T/tsig.key
FARM_FLEET=$T/home/fleet.json
FARM_PKI=$T/pki
export CERTFLEET_HOME=$T/home
# The webroots must be readable by nginx's worker (nobody): outside $T,
# which is 0700.
FARM_WEB=$(mktemp -d /tmp/cf-e2e-www.XXXXXX) || exit 1
chmod 755 "$FARM_WEB"
for _n in "${FARM_MEMBERS[@]}"; do
	FARM_WWW[$_n]=$FARM_WEB/$_n
	mkdir -m 755 "${FARM_WWW[$_n]}"
done
unset _n

# shellcheck disable=SC2317 # run by the EXIT trap
farm_cleanup() {
	local p
	for p in "${FARM_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	srv_stop_all
	agents_cleanup
	rm -rf "$FARM_WEB"
}
trap farm_cleanup EXIT

# farm__up NAME OK [LOG...] - one PASS line, or a FAIL line with the logs
# and the end of the script.
farm__up() {
	local name=$1 ok=$2 log
	shift 2
	if [ "$ok" = 1 ]; then
		pass "farm: $name"
		return 0
	fi
	fail "farm: $name" "did not come up"
	for log in "$@"; do
		show "$log" 15
	done
	e2e_done
}

# farm__tls_ca - the CA of pebble's own HTTPS listener, and its
# certificate for 127.0.0.1 (pebble's minica, made here).
farm__tls_ca() {
	local d=$T/acme-tls
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-subj "/CN=acme-farm test TLS CA" 2>/dev/null &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/tls.key" -out "$d/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null &&
		openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -out "$d/tls.pem" \
			-extfile <(printf 'subjectAltName=IP:127.0.0.1\n') 2>/dev/null
}

# farm_challtestsrv_start - pebble-challtestsrv as the CA's DNS: every
# name is FARM_LB_IP.
farm_challtestsrv_start() {
	setsid pebble-challtestsrv -defaultIPv4 "$FARM_LB_IP" -defaultIPv6 "" \
		-dns01 "127.0.0.1:$FARM_CTS_DNS" -http01 "" -https01 "" -tlsalpn01 "" \
		-management "127.0.0.1:$FARM_CTS_MGMT" \
		>"$T/challtestsrv.log" 2>&1 &
	FARM_PIDS+=($!)
	srv_wait_port 127.0.0.1 "$FARM_CTS_MGMT" 10
}

# farm_pebble_start NAME DNS_PORT - a pebble on two ports of its own,
# resolving through 127.0.0.1:DNS_PORT; waits for its directory and
# fetches its issuing root (management API, /roots/0).
farm_pebble_start() {
	local name=$1 dns=$2 acme mgmt tls d=$T/acme-tls
	[ -s "$d/tls.pem" ] || farm__tls_ca || return 1
	read -r acme mgmt tls < <(farm__ports 3)
	cat >"$T/$name.json" <<-EOF
		{ "pebble": {
		  "listenAddress": "127.0.0.1:$acme",
		  "managementListenAddress": "127.0.0.1:$mgmt",
		  "certificate": "$d/tls.pem",
		  "privateKey": "$d/tls.key",
		  "httpPort": $FARM_HP,
		  "tlsPort": $tls,
		  "ocspResponderURL": "",
		  "externalAccountBindingRequired": false
		} }
	EOF
	env -u PEBBLE_VA_ALWAYS_VALID PEBBLE_VA_NOSLEEP=1 \
		PEBBLE_AUTHZREUSE="$FARM_AUTHZREUSE" \
		setsid pebble -config "$T/$name.json" -dnsserver "127.0.0.1:$dns" \
		>"$T/$name.log" 2>&1 &
	FARM_PIDS+=($!)
	FARM_PLOG[$name]=$T/$name.log
	FARM_PDIR[$name]=https://127.0.0.1:$acme/dir
	FARM_PROOT[$name]=$T/$name-root.pem
	wait_until 20 curl -sf --cacert "$FARM_ACME_CA" "${FARM_PDIR[$name]}" &&
		curl -sf --cacert "$FARM_ACME_CA" -o "${FARM_PROOT[$name]}" \
			"https://127.0.0.1:$mgmt/roots/0" &&
		openssl x509 -in "${FARM_PROOT[$name]}" -noout 2>/dev/null
}

# farm__nginx_conf N WEBROOT - member N's nginx.conf: the challenges from
# WEBROOT on FARM_HP, the https service on FARM_TP.
farm__nginx_conf() {
	local n=$1 dir=$T/srv/$1/nginx ip=${FARM_IP[$1]}
	cat >"$dir/nginx.conf" <<-EOF
		# nginx of member $n of a certfleet e2e test
		daemon on;
		master_process on;
		worker_processes 1;
		pid $dir/nginx.pid;
		error_log $dir/error.log notice;
		events { worker_connections 64; }
		http {
			access_log $dir/access.log;
			client_body_temp_path $dir/client_body;
			proxy_temp_path $dir/proxy;
			fastcgi_temp_path $dir/fastcgi;
			uwsgi_temp_path $dir/uwsgi;
			scgi_temp_path $dir/scgi;
			server {
				listen $ip:$FARM_HP default_server;
				location /.well-known/acme-challenge/ {
					root $2;
					default_type text/plain;
				}
				location / { return 404; }
			}
			server {
				listen $ip:$FARM_TP ssl default_server;
				server_name $FARM_NS;
				ssl_certificate $T/srv/$n/https.crt;
				ssl_certificate_key $T/srv/$n/https.key;
				location / { return 200 "$n\n"; }
			}
		}
	EOF
}

# farm__nginx_start N - member N's nginx, on a placeholder certificate
# until its agent deploys one.
farm__nginx_start() {
	local n=$1 dir=$T/srv/$1/nginx
	mkdir -p "$dir"
	cp "$FARM_PKI/ec.pem" "$T/srv/$n/https.crt"
	(umask 077 && cp "$FARM_PKI/ec.key" "$T/srv/$n/https.key")
	farm__nginx_conf "$n" "${FARM_WWW[$n]}"
	nginx -e "$dir/error.log" -c "$dir/nginx.conf" -p "$dir/" 2>"$dir/start.err" &&
		srv__record "$dir" "$dir/nginx.pid" &&
		srv_wait_port "${FARM_IP[$n]}" "$FARM_HP" &&
		srv_wait_port "${FARM_IP[$n]}" "$FARM_TP"
}

# farm_webroot N DIR - see the top.
farm_webroot() {
	local n=$1 dir=$T/srv/$1/nginx probe reload
	probe=probe-$RANDOM$RANDOM
	mkdir -p "$2/.well-known/acme-challenge"
	chmod 755 "$2" "$2/.well-known" "$2/.well-known/acme-challenge"
	echo "$probe" >"$2/.well-known/acme-challenge/$probe"
	chmod 644 "$2/.well-known/acme-challenge/$probe"
	farm__nginx_conf "$n" "$2"
	reload=$(srv_nginx_reload_cmd "$dir")
	# shellcheck disable=SC2086 # the command line, split as the agent does
	$reload 2>>"$dir/start.err" || return 1
	wait_until 10 bash -c "[ \"\$(curl -s --max-time 2 \
		http://${FARM_IP[$n]}:$FARM_HP/.well-known/acme-challenge/$probe)\" = $probe ]"
	local rc=$?
	rm -f "$2/.well-known/acme-challenge/$probe"
	return $rc
}

# farm__agent_start N - member N's agent on FARM_IP[N], port 0; sets APID,
# APORT and AFP as agent-lib.sh does.
farm__agent_start() {
	local n=$1 port=
	: >"$T/$n.log"
	"$CERTFLEETD" run --config "$T/$n.conf" >"$T/$n.out" 2>"$T/$n.log" </dev/null &
	APID[$n]=$!
	wait_until 10 grep -q " listening on ${FARM_IP[$n]}:[0-9]*\$" "$T/$n.log"
	port=$(sed -n "s/.* listening on ${FARM_IP[$n]//./\\.}:\\([0-9]*\\)\$/\\1/p" "$T/$n.log")
	APORT[$n]=$port
	[ -n "$port" ]
}

farm_agent_restart() {
	local n=$1
	sed -i "s/^listen = .*/listen = ${FARM_IP[$n]}:${APORT[$n]}/" "$T/$n.conf"
	farm__agent_start "$n"
}

# farm__members - the three agents and their nginx, each serving FARM_OLD.
farm__members() {
	local n o peers id
	cf id --json >"$T/id.json" 2>"$T/id.err" || return 1
	id=$(jq -r .Fingerprint "$T/id.json")
	for n in "${FARM_MEMBERS[@]}"; do
		farm__nginx_start "$n" || return 1
		agent_conf "$n"
		sed -i "s/^listen = .*/listen = ${FARM_IP[$n]}:0/" "$T/$n.conf"
		cfd init --config "$T/$n.conf" >/dev/null 2>&1 || return 1
		AFP[$n]=$(cfd fingerprint --config "$T/$n.conf")
	done
	for n in "${FARM_MEMBERS[@]}"; do
		peers=
		for o in "${FARM_MEMBERS[@]}"; do
			[ "$o" = "$n" ] || peers+="${peers:+,}${AFP[$o]}"
		done
		cat >>"$T/$n.conf" <<-EOF
			transfer_peers = $peers

			[service https]
			kind = nginx
			chain = $T/srv/$n/https.crt
			key = $T/srv/$n/https.key
			test = $(srv_nginx_test_cmd "$T/srv/$n/nginx")
			reload = $(srv_nginx_reload_cmd "$T/srv/$n/nginx")
			check = ${FARM_IP[$n]}:$FARM_TP
			name = $FARM_NS
			timeout = 10
			acme_webroot = ${FARM_WWW[$n]}
		EOF
		cfd authorize "$id" --role admin --config "$T/$n.conf" >/dev/null || return 1
		farm__agent_start "$n" || return 1
		cf fleet add "$n" "${FARM_IP[$n]}:${APORT[$n]}" --fingerprint "${AFP[$n]}" \
			>/dev/null 2>"$T/fleet-add.err" || return 1
		cf import "$FARM_PKI/leaf.pem" "$FARM_PKI/leaf.key" "$FARM_PKI/chain.pem" \
			--services https --force --server "$n" >/dev/null 2>"$T/import.err" ||
			return 1
	done
}

# farm__balancer [deny] - haproxy on FARM_LB_IP, see the top; with
# deny, its http frontend answers 404 to the challenges itself.
farm__balancer() {
	local dir=$T/lb n deny=
	[ "${1:-}" = deny ] &&
		deny='http-request deny deny_status 404 if { path_beg /.well-known/acme-challenge/ }'
	mkdir -p "$dir"
	srv__stop "$dir"
	{
		cat <<-EOF
			# the balancer of a certfleet e2e test
			global
				daemon
				pidfile $dir/haproxy.pid
			defaults
				timeout connect 5s
				timeout client 30s
				timeout server 30s
			frontend http
				mode http
				bind $FARM_LB_IP:$FARM_HP
				$deny
				default_backend http
			frontend tls
				mode tcp
				bind $FARM_LB_IP:$FARM_TP
				default_backend tls
			backend http
				mode http
				balance roundrobin
		EOF
		for n in "${FARM_MEMBERS[@]}"; do
			printf '\tserver %s %s:%s\n' "$n" "${FARM_IP[$n]}" "$FARM_HP"
		done
		printf 'backend tls\n\tmode tcp\n\tbalance roundrobin\n'
		for n in "${FARM_MEMBERS[@]}"; do
			printf '\tserver %s %s:%s\n' "$n" "${FARM_IP[$n]}" "$FARM_TP"
		done
	} >"$dir/haproxy.cfg"
	haproxy -f "$dir/haproxy.cfg" 2>"$dir/start.err" &&
		srv__record "$dir" "$dir/haproxy.pid" &&
		srv_wait_port "$FARM_LB_IP" "$FARM_HP" &&
		srv_wait_port "$FARM_LB_IP" "$FARM_TP"
}

farm_balancer_restart() { farm__balancer "$@"; }

# farm_bind_start - see the top.
farm_bind_start() {
	local d=$T/bind
	mkdir -p "$d"
	tsig-keygen -a hmac-sha256 acme-key >"$FARM_TSIG" 2>/dev/null || return 1
	chmod 600 "$FARM_TSIG"
	cat >"$d/example.com.zone" <<-EOF
		\$TTL 60
		@	IN SOA ns1.example.com. hostmaster.example.com. 1 60 60 600 60
		@	IN NS ns1.example.com.
		ns1	IN A 127.0.0.1
		mail	IN A $FARM_LB_IP
	EOF
	cat >"$d/named.conf" <<-EOF
		options {
			directory "$d";
			pid-file "$d/named.pid";
			session-keyfile "$d/session.key";
			listen-on port $FARM_DNS_PORT { 127.0.0.1; };
			listen-on-v6 { none; };
			recursion no;
			dnssec-validation no;
			notify no;
			allow-transfer { 127.0.0.1; };
		};
		include "$FARM_TSIG";
		zone "example.com" {
			type primary;
			file "$d/example.com.zone";
			update-policy { grant acme-key zonesub TXT; };
		};
	EOF
	named -g -c "$d/named.conf" >"$d/named.log" 2>&1 &
	FARM_PIDS+=($!)
	wait_until 20 bash -c "dig +short +norecurse -p $FARM_DNS_PORT @127.0.0.1 \
		example.com SOA | grep -q hostmaster"
}

# farm_start - see the top.
farm_start() {
	require_tools "$CERTFLEETD" pebble pebble-challtestsrv nginx haproxy \
		openssl curl jq
	local ok=1
	make_pki "$FARM_PKI" || ok=0
	farm__up "a test PKI (make_pki)" "$ok"
	FARM_OLD=$(thumb "$FARM_PKI/leaf.pem")
	farm_challtestsrv_start || ok=0
	farm__up "pebble-challtestsrv answers every name with $FARM_LB_IP" "$ok" \
		"$T/challtestsrv.log"
	farm_pebble_start pebble "$FARM_CTS_DNS" || ok=0
	farm__up "pebble serves its directory, its root fetched" "$ok" "$T/pebble.log"
	FARM_DIR=${FARM_PDIR[pebble]}
	FARM_ROOT=${FARM_PROOT[pebble]}
	FARM_PEBBLE_LOG=${FARM_PLOG[pebble]}
	farm__members || ok=0
	farm__up "ex1..ex3: an agent and an nginx each on 127.0.1.N, serving OLD" "$ok" \
		"$T/id.err" "$T/fleet-add.err" "$T/import.err" "$T"/ex?.log \
		"$T"/srv/ex?/nginx/start.err
	farm_trust "$FARM_ROOT" 2>"$T/import.err" || ok=0
	farm__up "ex1..ex3: pebble's root in every store" "$ok" "$T/import.err"
	farm__balancer || ok=0
	farm__up "haproxy on $FARM_LB_IP: http :$FARM_HP and tls :$FARM_TP, round robin" \
		"$ok" "$T/lb/start.err"
	cf --server ex1 acme account new "$FARM_ACCOUNT" --directory "$FARM_DIR" \
		--ca-file "$FARM_ACME_CA" --agree-tos >/dev/null 2>"$T/account.err" || ok=0
	farm__up "ACME account $FARM_ACCOUNT on ex1, registered at pebble" "$ok" \
		"$T/account.err"
	{ cf namespace add "$FARM_NS" --servers ex1,ex2,ex3 --services https \
		--via "$FARM_VIA" &&
		cf namespace set "$FARM_NS" --issuer "acme:$FARM_ACCOUNT" \
			--challenge http-01 --key p256 --http-port "$FARM_HP"; } \
		>/dev/null 2>"$T/ns.err" || ok=0
	farm__up "namespace $FARM_NS, issuer acme:$FARM_ACCOUNT, http-01 on :$FARM_HP" \
		"$ok" "$T/ns.err"
}

# --- for the checks ----------------------------------------------------

# farm__s_client HOST PORT [ROOT] - the leaf HOST:PORT presents (SNI
# FARM_NS), as PEM; with ROOT, only when its chain verifies against it.
farm__s_client() {
	local verify=()
	[ -n "${3:-}" ] && verify=(-verify_return_error -CAfile "$3")
	timeout 10 openssl s_client -connect "$1:$2" -servername "$FARM_NS" \
		"${verify[@]}" </dev/null 2>/dev/null |
		sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p'
}

# farm__thumb_of - the certfleet thumbprint of the PEM on stdin.
farm__thumb_of() {
	openssl x509 -noout -fingerprint -sha1 2>/dev/null | sed 's/^.*=//; s/://g' |
		tr 'a-f' 'A-F'
}

farm_served() {
	local pem
	pem=$(farm__s_client "${FARM_IP[$1]}" "$FARM_TP" "${2:-}")
	[ -n "$pem" ] || return 1
	printf '%s\n' "$pem" | farm__thumb_of
}

farm_served_via() {
	local pem
	pem=$(farm__s_client "$FARM_LB_IP" "$FARM_TP" "${1:-}")
	[ -n "$pem" ] || return 1
	printf '%s\n' "$pem" | farm__thumb_of
}

farm_served_all() {
	local n out=
	for n in "${FARM_MEMBERS[@]}"; do
		out+="$n=$(farm_served "$n") "
	done
	echo "${out% }"
}

# farm_served_pem N - the leaf member N serves, as PEM.
farm_served_pem() {
	farm__s_client "${FARM_IP[$1]}" "$FARM_TP"
}

farm_tokens() {
	local n
	for n in "${FARM_MEMBERS[@]}"; do
		curl -sf --max-time 10 --unix-socket "$SOCKDIR/$n.sock" \
			http://localhost/v1/acme/challenges |
			jq -r --arg n "$n" '.[] | "\($n):\(.Token)"' 2>/dev/null ||
			echo "$n:(no answer)"
	done | tr '\n' ' ' | sed 's/ $//'
}

farm_trust() {
	local n
	for n in "${FARM_MEMBERS[@]}"; do
		cf import "$1" --server "$n" >/dev/null || return 1
	done
}

farm_thumbs() {
	cf get --server "$1" --json | jq -r '[.Items[].Thumbprint] | sort | join(",")'
}
