#!/usr/bin/env bash
# etcd-client.sh - the etcd gateway client (src/registry/etcd.h) against a
# real three-member etcd cluster on loopback with TLS and RBAC, driven by
# build/cf-etcd: round trips with binary keys, prefix ranges, a fenced
# compare-and-swap, leases, watch (order, compaction), failover when a
# member dies, RBAC refusals, bad credentials and a cluster that is down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"

# Tokens idle for 2 s expire: the client must get a new one by itself.
ETCD_TOKEN_TTL=2
if ! etcd_cluster_start --rbac; then
	fail "etcd cluster" "three members did not come up healthy"
	e2e_done
fi
pass "etcd cluster: three members with TLS and RBAC"
export CFE_USER=root

# jqo FILTER - FILTER over the last command's stdout (the last line unless
# the filter says otherwise).
jqo() { jq -rs "$1" "$OUT"; }

# --- put and get, binary-safe ----------------------------------------------
check "put a binary key" cfe --hex put 00ff2f41 0001ff0a
check "get the binary key" cfe --hex get 00ff2f41
expect_eq "binary value round trip" "$(jqo '.[0].ValueHex')" 0001FF0A
check "get a key one byte away" cfe --hex get 00ff2f42
expect_eq "no value for a key one byte away" "$(jqo '.[-1].Count')" 0

# --- prefix range -------------------------------------------------------------
for k in /p/1 /p/2 /p/3 /q/1 /p0; do
	cfe put "$k" "v$k" >/dev/null || fail "put $k" "cf-etcd failed"
done
check "range over a prefix" cfe get /p/ --prefix
expect_eq "the prefix's keys, in order" \
	"$(jqo '[.[] | select(.Key) | .Key] | join(",")')" "/p/1,/p/2,/p/3"
check "range with a limit" cfe get /p/ --prefix --limit 2
expect_eq "a limited range says there is more" \
	"$(jqo '.[-1] | "\(.Count) \(.More)"')" "3 true"

check "a range of keys only" cfe get /p/ --prefix --keys-only
expect_eq "keys only: no values" \
	"$(jqo '[.[] | select(.Key) | .Value] | "\(length) [\(unique | join(","))]"')" "3 []"
check "put an empty value" cfe put /empty ""
run cfe get /empty
expect_eq "an empty value is a key with an empty value" \
	"$(jqo '.[0] | "\(.Key)=\(.Value)"') $(jqo '.[-1].Count')" "/empty= 1"
run cfe get /p/1
rev1=$(jqo '.[0].ModRevision')
check "a put that returns the value it replaced" cfe put /p/1 new --prev-kv
expect_eq "the replaced value" "$(jqo '.[0].Prev.Value')" "v/p/1"
check "a range at an old revision" cfe get /p/1 --revision "$rev1"
expect_eq "the old revision's value" "$(jqo '.[0].Value')" "v/p/1"
check "delete a prefix" cfe del /p/ --prefix
expect_eq "the prefix's three keys deleted" "$(jqo '.[0].Deleted')" 3
run cfe get /p0
expect_eq "a key just past the prefix stays" "$(jqo '.[-1].Count')" 1
cfe put /p/1 v/p/1 >/dev/null

# --- compare-and-swap ---------------------------------------------------------
cfe put /cas/k v1 >/dev/null
run cfe get /cas/k
mod=$(jqo '.[0].ModRevision')
check "CAS on the revision read" cfe txn-cas /cas/k "$mod" v2
expect_eq "the CAS that holds wins" "$(jqo '.[0].Succeeded')" true
check "CAS on a stale revision" cfe txn-cas /cas/k "$mod" v3
expect_eq "the stale CAS loses and shows the current value" \
	"$(jqo '.[0] | "\(.Succeeded) \(.Current.Value)"')" "false v2"
check "create-if-absent" cfe txn-cas /cas/new 0 first
expect_eq "creating an absent key wins" "$(jqo '.[0].Succeeded')" true
check "create-if-absent again" cfe txn-cas /cas/new 0 second
expect_eq "creating a present key loses" \
	"$(jqo '.[0] | "\(.Succeeded) \(.Current.Value)"')" "false first"

# --- leases ---------------------------------------------------------------------
check "lease grant" cfe lease grant 2
lease=$(jqo '.[0].ID')
expect_eq "the lease has its TTL" "$(jqo '.[0].TTL')" 2
check "put under the lease" cfe put /lease/k alive --lease "$lease"
run cfe get /lease/k
expect_eq "the leased key is there, with its lease" "$(jqo '.[0].Lease')" "$lease"
cfe put /lease/kept stays >/dev/null
check "lease keepalive" cfe lease keepalive "$lease"
expect_eq "a keepalive renews the TTL" "$(jqo '.[0].TTL')" 2
start=$SECONDS
while [ $((SECONDS - start)) -lt 10 ]; do
	run cfe get /lease/k
	[ "$(jqo '.[-1].Count')" = 0 ] && break
	sleep 0.2
done
expect_eq "expiry deletes the leased key" "$(jqo '.[-1].Count')" 0
run cfe get /lease/kept
expect_eq "a key without the lease stays" "$(jqo '.[-1].Count')" 1
check "keepalive of an expired lease" cfe lease keepalive "$lease"
expect_eq "an expired lease has no TTL left" "$(jqo '.[0].TTL')" 0
run cfe lease grant 30
lease=$(jqo '.[0].ID')
cfe put /lease/r x --lease "$lease" >/dev/null
check "lease revoke" cfe lease revoke "$lease"
run cfe get /lease/r
expect_eq "revoking deletes the leased key at once" "$(jqo '.[-1].Count')" 0
check_fails "revoking a revoked lease" 1 "lease not found" \
	cfe lease revoke "$lease"

# --- watch --------------------------------------------------------------------
: >"$T/watch.out"
cfe watch /w/ --count 3 --wait-ms 10000 >"$T/watch.out" 2>"$T/watch.err" &
wpid=$!
start=$SECONDS
until grep -q Created "$T/watch.out" || [ $((SECONDS - start)) -ge 10 ]; do
	sleep 0.05
done
cfe put /wx outside >/dev/null
cfe put /w/a 1 >/dev/null
cfe put /w/b 2 >/dev/null
cfe del /w/a >/dev/null
if wait "$wpid"; then
	pass "watch receives three events"
else
	fail "watch receives three events" "cf-etcd watch failed"
	show "$T/watch.err"
fi
expect_eq "watch: puts and deletes in order, nothing outside the prefix" \
	"$(jq -rs '[.[] | select(.Type) | "\(.Type) \(.Key)"] | join(",")' \
		"$T/watch.out")" "PUT /w/a,PUT /w/b,DELETE /w/a"

run cfe put /w/c 3
rev=$(jqo '.[0].Revision')
cfe put /w/c 4 >/dev/null
run etcd_ctl compact "$((rev + 1))"
check "watch from a compacted revision" cfe watch /w/ --from "$rev" --wait-ms 10000
expect_eq "the compaction is reported, with its revision" \
	"$(jqo '.[-1] | "\(.Compacted) \(.CompactRevision)"')" "true $((rev + 1))"
check "watch from the compaction point on" \
	cfe watch /w/ --from "$((rev + 1))" --count 1 --wait-ms 10000
expect_eq "a watch from a kept revision replays it" \
	"$(jqo '[.[] | select(.Type)][0] | "\(.Key) \(.Value)"')" "/w/c 4"

# One client, two reads 3.5 s apart: the token expired in between.
check "reads across the expiry of the token" \
	cfe --repeat 2 --interval-ms 3500 get /p/1
expect_eq "both reads answered" "$(jqo '[.[] | .Value // empty] | join(",")')" "v/p/1,v/p/1"

# --- RBAC and credentials -------------------------------------------------------
CFE_USER=agent-a check "the agent writes its own status key" \
	cfe put /certfleet/status/agent-a up
CFE_USER=agent-a check_fails "the agent writes another's status key" 1 \
	"permission denied" cfe put /certfleet/status/agent-b up
cfe put /certfleet/ns/mail/desired ABC >/dev/null
CFE_USER=agent-a check "the agent reads its namespaces" cfe get /certfleet/ns/ --prefix
CFE_USER=agent-a check_fails "the agent writes desired state" 1 \
	"permission denied" cfe put /certfleet/ns/mail/desired EVIL
CFE_USER=agent-a check_fails "the agent watches outside its prefix" 1 \
	"canceled.*ermission" cfe watch /certfleet/status/ --wait-ms 5000
pwfile "$T/wrong.pw" not-the-password
check_fails "a wrong password" 1 "authenticate.*authentication failed" \
	"$CF_ETCD" --endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/ca.pem" \
	--cert "$ETCD_PKI/client.pem" --key "$ETCD_PKI/client.key" \
	--user agent-a --password-file "$T/wrong.pw" get /certfleet/ns/
if grep -q not-the-password "$ERR"; then
	fail "the wrong password is not echoed" "it is in the message"
else
	pass "the wrong password is not echoed"
fi
CFE_USER='' check_fails "no user with RBAC on" 1 "user name is empty" cfe get /p/1
check_fails "a client certificate with a CN" 1 "CommonName" \
	"$CF_ETCD" --endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/ca.pem" \
	--cert "$ETCD_PKI/cn-client.pem" --key "$ETCD_PKI/cn-client.key" \
	--user root --password-file "$ETCD_PKI/root.pw" get /p/1
check_fails "members not from the trusted CA" 1 "certificate verify failed" \
	"$CF_ETCD" --endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/other-ca.pem" \
	--cert "$ETCD_PKI/client.pem" --key "$ETCD_PKI/client.key" \
	--user root --password-file "$ETCD_PKI/root.pw" get /p/1
check_fails "a password on the command line is no option" 2 "never taken" \
	"$CF_ETCD" --endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/ca.pem" \
	--password secret get /p/1

# --- the bench: put and watch delivery latency (figures, not checks) ---------
run cfe bench /bench/ 200 2048
if [ "$RC" = 0 ]; then
	echo "# bench (3 members, all up): $(cat "$OUT")"
else
	fail "bench" "exit $RC"
	show "$ERR"
fi

# The bench left 200 keys of 2 KiB: a range of them is about 550 KB of
# JSON, within the default cap and over a smaller one.
check "a large range" cfe get /bench/ --prefix
expect_eq "the large range has every key" "$(jqo '.[-1].Count')" 200
check_fails "a reply over the cap" 1 "exceeds 100000 bytes" \
	cfe --max-reply 100000 get /bench/ --prefix

# --- failover -----------------------------------------------------------------
# The leader goes first in the endpoint list, then dies: the next call
# must get its answer from another member.
leader=$(etcd_leader)
if [ -z "$leader" ]; then
	fail "a leader" "no member says it leads"
else
	order=${ETCD_URLS[$leader - 1]}
	for i in 1 2 3; do
		[ "$i" = "$leader" ] || order+=,${ETCD_URLS[$i - 1]}
	done
	CFE_ENDPOINTS=$order check "a put through the leader" cfe put /f/k before
	# A member that stops answering (SIGSTOP) costs one timeout.
	other=$((leader % 3 + 1))
	kill -STOP "${ETCD_PIDS[$other - 1]}"
	t0=$(date +%s%N)
	CFE_ENDPOINTS=${ETCD_URLS[$other - 1]},$order check \
		"a get past a member that does not answer" \
		cfe --timeout-ms 1000 get /f/k
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$ms" -ge 1000 ] && [ "$ms" -lt 4000 ]; then
		pass "the silent member cost one timeout ($ms ms)"
	else
		fail "the silent member cost one timeout" "$ms ms"
	fi
	CFE_ENDPOINTS=${ETCD_URLS[$other - 1]} CFE_TIMEOUT=10 check_fails \
		"a silent member alone" 1 "no answer within 1000 ms" \
		cfe --timeout-ms 1000 lease grant 5
	kill -CONT "${ETCD_PIDS[$other - 1]}"
	: >"$T/fwatch.out"
	CFE_ENDPOINTS=$order cfe watch /fw/ --count 2 --wait-ms 15000 \
		>"$T/fwatch.out" 2>"$T/fwatch.err" &
	wpid=$!
	start=$SECONDS
	until grep -q Created "$T/fwatch.out" || [ $((SECONDS - start)) -ge 10 ]; do
		sleep 0.05
	done
	CFE_ENDPOINTS=$order cfe put /fw/1 one >/dev/null
	until grep -q '"/fw/1"' "$T/fwatch.out" || [ $((SECONDS - start)) -ge 10 ]; do
		sleep 0.05
	done
	etcd_member_kill "$leader"
	t0=$(date +%s%N)
	CFE_ENDPOINTS=$order check "a put after the leader died" cfe put /f/k after
	echo "# failover put: $((($(date +%s%N) - t0) / 1000000)) ms"
	CFE_ENDPOINTS=$order check "a get after the leader died" cfe get /f/k
	expect_eq "the write after the failover is read back" \
		"$(jqo '.[0].Value')" after
	CFE_ENDPOINTS=$order cfe put /fw/2 two >/dev/null
	if wait "$wpid"; then
		pass "a watch goes on past its member's death"
	else
		fail "a watch goes on past its member's death" "cf-etcd watch failed"
		show "$T/fwatch.err"
	fi
	expect_eq "the resumed watch misses and repeats nothing" \
		"$(jq -rs '[.[] | select(.Type) | .Key] | join(",")' "$T/fwatch.out")" \
		"/fw/1,/fw/2"
	CFE_ENDPOINTS=${ETCD_URLS[$leader - 1]} check_fails \
		"the dead member alone" 1 "connection failed|cannot connect" \
		cfe get /f/k
fi

# --- a cluster that is down -----------------------------------------------------
for i in 1 2 3; do
	etcd_member_kill "$i"
done
t0=$SECONDS
check_fails "a cluster that is down" 1 \
	"no other endpoint answered" cfe get /p/1
if [ $((SECONDS - t0)) -le 10 ]; then
	pass "a cluster that is down is reported within 10 s"
else
	fail "a cluster that is down is reported within 10 s" \
		"$((SECONDS - t0)) s"
fi

e2e_done
