#!/usr/bin/env bash
# agent-admin.sh - the agent's admin commands and its configuration file.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/agent-admin.sh
#
# check-config: "configuration OK" and exit 0 on a good file; exit 1 naming
# file:line and what is wrong for an unknown key, a bad service kind, a
# missing file, a listen address that does not parse or resolve, an
# uninitialized state.  Long lines (over 1000 characters) and lines
# continued with a backslash.  clients: the table and --json, before and
# after authorize and revoke.  fleet add refusing a second name for one
# agent.  A reload keeping what it cannot change (listen, socket, state).
# The man pages: no form-feed bytes, no groff warnings.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
export CERTFLEET_HOME=$T/home
if [ ! -x "$CERTFLEETD" ]; then
	fail "$E2E_NAME: certfleetd binary" "not found at $CERTFLEETD (run make)"
	exit 1
fi
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

# ---- check-config ----------------------------------------------------------

agent_conf ex1
C=$T/ex1.conf
check_fails check-config/not-initialized 1 'not initialized; run certfleetd init' \
	cfd check-config --config "$C"
check init cfd init --config "$C"
check check-config/ok cfd check-config --config "$C"
expect_eq check-config/ok/one-line "$(cat "$OUT")" "$C: configuration OK"

# bad NAME LINE PATTERN LINES... - a copy of the good file with LINES
# appended must fail naming $T/bad-NAME.conf:LINE and matching PATTERN.
bad() {
	local name=$1 line=$2 pat=$3 f=$T/bad-$1.conf
	shift 3
	cp "$C" "$f"
	printf '%s\n' "$@" >>"$f"
	check_fails "check-config/$name" 1 "$f:$line: $pat" cfd check-config --config "$f"
}
base=$(wc -l <"$C")
bad unknown-key $((base + 1)) 'unknown key colour' 'colour = blue'
bad service-kind $((base + 2)) 'kind nginxx: the kinds are' '[service web]' 'kind = nginxx'
bad missing-admin-ca $((base + 1)) "admin_ca $T/nope.pem: No such file" 'admin_ca = nope.pem'
bad missing-dir $((base + 3)) 'chain /nonexistent/dir/c.pem: the directory /nonexistent/dir does not exist' \
	'[service web]' 'kind = files' 'chain = /nonexistent/dir/c.pem' "key = $T/k.pem"
# listen is set in the good file: a copy of it with another listen line.
sed 's/^listen = .*/listen = 127.0.0.1/' "$C" >"$T/bad-listen.conf"
check_fails check-config/listen-unparsable 1 "bad-listen.conf:[0-9]+: listen 127.0.0.1: give HOST:PORT" \
	cfd check-config --config "$T/bad-listen.conf"
sed 's/^listen = .*/listen = no-such-host.invalid:8443/' "$C" >"$T/bad-resolve.conf"
check_fails check-config/listen-unresolvable 1 "bad-resolve.conf:[0-9]+: listen no-such-host.invalid:8443" \
	cfd check-config --config "$T/bad-resolve.conf"
check_fails check-config/missing-file 1 "$T/none.conf: No such file" \
	cfd check-config --config "$T/none.conf"
printf 'not pem\n' >"$T/junk-ca.pem"
cp "$C" "$T/bad-ca.conf"
echo "admin_ca = $T/junk-ca.pem" >>"$T/bad-ca.conf"
check_fails check-config/admin-ca-not-pem 1 "admin_ca $T/junk-ca.pem" \
	cfd check-config --config "$T/bad-ca.conf"

# ---- long and continued lines ----------------------------------------------

peers=""
for i in $(seq 20); do
	peers="$peers${peers:+, }SHA256:$(printf '%064X' "$i")"
done
cp "$C" "$T/long.conf"
echo "transfer_peers = $peers" >>"$T/long.conf"
len=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/long.conf")
[ "$len" -ge 1000 ]
expect_eq config/long-line/is-long "$?" 0
check config/long-line/accepted cfd check-config --config "$T/long.conf"
# The whole line was read: its last fingerprint, made bad, is what fails.
sed "s/SHA256:$(printf '%064X' 20)\$/SHA256:ZZ/" "$T/long.conf" >"$T/long-bad.conf"
check_fails config/long-line/read-to-the-end 1 "long-bad.conf:$((base + 1)): transfer_peers" \
	cfd check-config --config "$T/long-bad.conf"
awk 'BEGIN { printf "# "; for (i = 0; i < 70000; i++) printf "x"; print "" }' >"$T/huge.conf"
cat "$C" >>"$T/huge.conf"
check_fails config/too-long-refused 1 'huge.conf:1: line longer than 65536' \
	cfd check-config --config "$T/huge.conf"

# Continuation: the backslash joins the next line, with one space.
{
	grep -v '^name' "$C"
	printf 'transfer_peers = SHA256:%064X, \\\n' 1
	printf '    SHA256:%064X, \\\n' 2
	printf '    SHA256:%064X\n' 3
	printf 'name = \\\n  ex1\n'
} >"$T/cont.conf"
check config/continuation/accepted cfd check-config --config "$T/cont.conf"
# Without the backslash the next line stands alone and is an error (inih
# reads "SHA256:…" as a key, as configparser would).
sed 's/ \\$//' "$T/cont.conf" >"$T/nocont.conf"
check_fails config/continuation/needed 1 "nocont.conf:[0-9]+: unknown key SHA256" \
	cfd check-config --config "$T/nocont.conf"
# A continued line is one line: an error in its second part names its first.
first=$(grep -n '^transfer_peers' "$T/cont.conf" | cut -d: -f1)
sed "s/SHA256:$(printf '%064X' 2)/SHA256:QQ/" "$T/cont.conf" >"$T/cont-bad.conf"
check_fails config/continuation/error-names-first-line 1 "cont-bad.conf:$first: transfer_peers" \
	cfd check-config --config "$T/cont-bad.conf"
# A comment ending in a backslash does not swallow the line after it.
{
	grep -v '^name' "$C"
	printf '# a comment that ends in a backslash \\\n'
	printf 'bogus = 1\n'
} >"$T/comment.conf"
check_fails config/continuation/not-comments 1 "comment.conf:$((base + 1)): unknown key bogus" \
	cfd check-config --config "$T/comment.conf"
printf '[agent]\nname = ex1 \\\n' >"$T/dangling.conf"
check_fails config/continuation/dangling 1 "dangling.conf:2: a line ends in" \
	cfd check-config --config "$T/dangling.conf"
# The continued value is the value: init names the host certificate by it.
mkdir -p "$T/cont2"
sed "s#^state = .*#state = $T/cont2#; s#^socket = .*#socket = none#" "$T/cont.conf" >"$T/cont2.conf"
check config/continuation/init cfd init --config "$T/cont2.conf"
grep -q 'CN=ex1,' "$OUT"
expect_eq config/continuation/value-joined "$?" 0

# ---- clients ---------------------------------------------------------------

FA=SHA256:$(printf '%064X' 170)
FB=SHA256:$(printf '%064X' 187)
check clients/none cfd clients --config "$C"
grep -q 'no client is authorized on ex1' "$OUT"
expect_eq clients/none/says-so "$?" 0
check clients/none/json cfd clients --config "$C" --json
expect_eq clients/none/json-empty "$(jq -c .Items "$OUT")" "[]"
check clients/authorize-a cfd authorize "$FA" --role admin --config "$C"
check clients/authorize-b cfd authorize "$FB" --role reader --config "$C"
check clients/table cfd clients --config "$C"
expect_eq clients/table/header "$(head -1 "$OUT" | tr -s ' ')" "Fingerprint Role Since By"
grep -qE "^$FA admin +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z local:" "$OUT"
expect_eq clients/table/admin-row "$?" 0
grep -qE "^$FB reader " "$OUT"
expect_eq clients/table/reader-row "$?" 0
check clients/json cfd clients --config "$C" --json
expect_eq clients/json/keys "$(jq -c '.Items[0] | keys' "$OUT")" '["By","Fingerprint","Role","Since"]'
expect_eq clients/json/rows "$(jq -r '.Items[] | [.Fingerprint, .Role] | join(" ")' "$OUT")" "$FA admin
$FB reader"
expect_eq clients/json/by "$(jq -r '.Items[0].By' "$OUT")" "local:$(id -un)"
check clients/role-change cfd authorize "$FB" --role admin --config "$C"
check clients/json-after-change cfd clients --config "$C" --json
expect_eq clients/role-changed "$(jq -r '.Items[1].Role' "$OUT")" admin
check clients/revoke cfd revoke "$FA" --config "$C"
check clients/json-after-revoke cfd clients --config "$C" --json
expect_eq clients/revoked-gone "$(jq -r '.Items[].Fingerprint' "$OUT")" "$FB"
check_fails clients/unknown-option 2 'unknown option --jsn' cfd clients --config "$C" --jsn
sed "s#^state = .*#state = $T/nowhere#" "$C" >"$T/nostate.conf"
check_fails clients/not-initialized 1 'not initialized' cfd clients --config "$T/nostate.conf"

# ---- fleet add: one name per agent -----------------------------------------

FP=SHA256:$(printf '%064X' 7)
check fleet/add cf fleet add ex1 10.0.0.11:8443 --fingerprint "$FP"
before=$(sha256sum <"$CERTFLEET_HOME/fleet.json")
check_fails fleet/second-name-refused 1 'as ex1 \(use that name, or fleet remove ex1 first\)' \
	cf fleet add other 10.0.0.11:8443 --fingerprint "$FP"
expect_eq fleet/second-name/unchanged "$(sha256sum <"$CERTFLEET_HOME/fleet.json")" "$before"
check fleet/other-address-ok cf fleet add ex2 10.0.0.12:8443 --fingerprint "$FP"
check fleet/other-fingerprint-ok cf fleet add ex3 10.0.0.11:8443 --fingerprint "SHA256:$(printf '%064X' 8)"

# ---- reload: what SIGHUP cannot change -----------------------------------
# A reload that moves the Unix socket keeps serving on the old one, names
# the key, the new value and the one kept, and says nothing of the keys
# that did not change; stopping removes the socket it kept.

agent_conf rl
check reload/init cfd init --config "$T/rl.conf"
if agent_start rl; then
	OLD=$SOCKDIR/rl.sock NEW=$SOCKDIR/rl-moved.sock
	sed -i "s|^socket = .*|socket = $NEW|; s|^name = rl$|name = rl2|" "$T/rl.conf"
	kill -HUP "${APID[rl]}"
	for _ in $(seq 100); do # 10 s at most
		grep -q 'configuration reloaded' "$T/rl.log" && break
		sleep 0.1
	done
	if grep -q 'certfleetd: rl2: configuration reloaded' "$T/rl.log"; then
		pass reload/name-taken
	else
		fail reload/name-taken "no 'rl2: configuration reloaded'"
		show "$T/rl.log"
	fi
	want="certfleetd: reload: socket changed to $NEW: restart certfleetd to apply it; still $OLD"
	if grep -qxF "$want" "$T/rl.log"; then
		pass reload/socket-kept-and-named
	else
		fail reload/socket-kept-and-named "no line: $want"
		show "$T/rl.log"
	fi
	if grep -qE 'reload: (listen|state) changed' "$T/rl.log"; then
		fail reload/unchanged-not-reported
		show "$T/rl.log"
	else
		pass reload/unchanged-not-reported
	fi
	# Any HTTP answer (200 as root, 403 otherwise): the old socket serves.
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--unix-socket "$OLD" http://localhost/v1/whoami)
	case $code in
	200 | 403) pass "reload/old-socket-serves ($code)" ;;
	*) fail reload/old-socket-serves "HTTP code '$code'" ;;
	esac
	if [ -e "$NEW" ]; then
		fail reload/no-new-socket-until-restart
	else
		pass reload/no-new-socket-until-restart
	fi
	agent_stop rl # also checks that the kept socket, $OLD, is removed
fi

# ---- the man pages ---------------------------------------------------------

for page in "$E2E_ROOT/docs/certfleetd.8" "$E2E_ROOT/docs/certfleet.1"; do
	name=$(basename "$page")
	if LC_ALL=C grep -q $'\f' "$page"; then
		fail "man/$name/no-form-feed" "$(LC_ALL=C grep -n $'\f' "$page" | head -3)"
	else
		pass "man/$name/no-form-feed"
	fi
	warnings=$(groff -man -Tutf8 -ww "$page" 2>&1 >/dev/null)
	expect_eq "man/$name/groff-warnings" "$warnings" ""
done
e2e_done
