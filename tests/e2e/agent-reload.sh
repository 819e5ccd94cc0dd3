#!/usr/bin/env bash
# agent-reload.sh - what SIGHUP cannot change stays as it was, and the
# agent says so: a reload that moves the Unix socket keeps serving on the
# old one, names the key, the new value and the one kept, and says nothing
# of the keys that did not change; stopping removes the socket it kept.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/agent-reload.sh
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
require_tools curl
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

agent_conf rl
check init cfd init --config "$T/rl.conf"
agent_start rl || exit 1

OLD=$SOCKDIR/rl.sock NEW=$SOCKDIR/rl-moved.sock
sed -i "s|^socket = .*|socket = $NEW|; s|^name = rl$|name = rl2|" "$T/rl.conf"
kill -HUP "${APID[rl]}"
for _ in $(seq 100); do # 10 s at most
	grep -q 'configuration reloaded' "$T/rl.log" && break
	sleep 0.1
done
if grep -q 'certfleetd: rl2: configuration reloaded' "$T/rl.log"; then
	pass "reload: the rest of the file is taken (name rl2)"
else
	fail "reload: the rest of the file is taken (name rl2)"
	show "$T/rl.log"
fi
want="certfleetd: reload: socket changed to $NEW: restart certfleetd to apply it; still $OLD"
if grep -qxF "$want" "$T/rl.log"; then
	pass "reload: a moved socket is named, with the one kept"
else
	fail "reload: a moved socket is named, with the one kept" "no line: $want"
	show "$T/rl.log"
fi
if grep -qE 'reload: (listen|state) changed' "$T/rl.log"; then
	fail "reload: keys that did not change are not reported"
	show "$T/rl.log"
else
	pass "reload: keys that did not change are not reported"
fi

# Any HTTP answer (200 as root, 403 otherwise) shows the old socket serves.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	--unix-socket "$OLD" http://localhost/v1/whoami)
case $code in
200 | 403) pass "reload: the old socket still answers ($code)" ;;
*) fail "reload: the old socket still answers" "HTTP code '$code'" ;;
esac
if [ -e "$NEW" ]; then
	fail "reload: no socket at the new path until a restart"
else
	pass "reload: no socket at the new path until a restart"
fi

agent_stop rl # also checks that the kept socket, $OLD, is removed
e2e_done
