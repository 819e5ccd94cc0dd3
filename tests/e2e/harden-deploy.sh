#!/usr/bin/env bash
# harden-deploy.sh - issue 11, items 2 and 7: a user other than root next
# to the service files gets no key, and service commands get none of the
# agent's environment.
#
# One private certfleetd, run as root with CERTFLEET_PASSWORD and a cloud
# credential in its environment, deploys to a real nginx whose key.pem
# `nobody` owns and holds open, and to services of kind files whose paths
# hold a link, or whose directories nobody owns or every user may write.
# The checks read the files, their inodes and owners with stat, and what
# nobody can read with runuser, not with certfleet.
#
#   bash tests/e2e/harden-deploy.sh      (as root; CERTFLEETD=... another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
ELSEWHERE=$(mktemp /tmp/cf-e2e-elsewhere.XXXXXX) || exit 1
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	srv_stop_all
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	rm -f "$ELSEWHERE"
	agents_cleanup
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	fail "harden-deploy: root" "run as root: the test chowns files to nobody"
	e2e_done
fi
require_tools "$CERTFLEETD" nginx openssl runuser python3 jq
# nobody must be able to reach the directories to try anything: the
# scratch directory becomes searchable (never readable) by others.
chmod 711 "$T"
as_nobody() { runuser -u nobody -- "$@"; }

HTTPS=$(free_ports 1)

# ---- certificates: A served at the start, B deployed --------------------

P=$T/pki
make_pki "$P"
make_leaf "$P" b 3001 && (cd "$P" && cat leaf.pem int.pem >a.chain)
A=$(thumb "$P/leaf.pem")
B=$(thumb "$P/b.pem")

# ---- the service directories ------------------------------------------

S=$T/srv
mkdir -p "$S"/{ngx,sym,real,open,anc/sub,ww,nob,env,ra,ra-out}
chmod 755 "$S" "$S"/*
# nginx's key.pem is nobody's (a former service user's), readable by it.
cp "$P/a.chain" "$S/ngx/nginx.crt"
cp "$P/leaf.key" "$S/ngx/nginx.key"
chown nobody:nogroup "$S/ngx/nginx.key"
chmod 644 "$S/ngx/nginx.key"
# A key path that is a link to a file outside, a directory that is a link.
echo "untouched" >"$ELSEWHERE"
ln -s "$ELSEWHERE" "$S/sym/k.pem"
ln -s "$S/real" "$S/link"
# Directories others control: nobody's, every user's, an ancestor's.
chown nobody:nogroup "$S/open" "$S/nob" "$S/ra-out"
chmod 777 "$S/ww" "$S/anc"

if srv_nginx_start "$S/nginx" "$HTTPS" "$S/ngx/nginx.crt" "$S/ngx/nginx.key" mail.example.com; then
	pass "nginx: runs on loopback with nobody's key.pem"
else
	fail "nginx: runs on loopback with nobody's key.pem"
	e2e_done
fi
served() { srv_served_thumb tls 127.0.0.1 "$HTTPS" mail.example.com; }
expect_eq "nginx: serves A" "$(served)" "$A"

# files NAME DIR [KEY = VALUE lines] - a [service NAME] of kind files
# writing DIR/c.pem and DIR/k.pem.
files() {
	local n=$1 d=$2
	shift 2
	printf '\n[service %s]\nkind = files\nchain = %s/c.pem\nkey = %s/k.pem\n' "$n" "$d" "$d"
	printf '%s\n' "$@"
}

agent_conf hd
{
	cat <<-EOF

		[service https]
		kind = nginx
		chain = $S/ngx/nginx.crt
		key = $S/ngx/nginx.key
		test = $(srv_nginx_test_cmd "$S/nginx")
		reload = $(srv_nginx_reload_cmd "$S/nginx")
		check = 127.0.0.1:$HTTPS
		name = mail.example.com
		timeout = 10
	EOF
	files symkey "$S/sym"
	files symdir "$S/link"
	files nobodys "$S/open"
	files everyones "$S/ww"
	files ancestor "$S/anc/sub"
	files owned "$S/nob" "owner = nobody"
	files envtest "$S/env" "env = FOO=bar GREETING=\"hello world\"" \
		"reload = env > $S/env/env.out; id -u > $S/env/id.out"
	files runas "$S/ra" "run_as = nobody" \
		"reload = id -u > $S/ra-out/id.out; env > $S/ra-out/env.out"
} >>"$T/hd.conf"
check "agent: init" cfd init --config "$T/hd.conf"
# The agent gets secrets in its environment, as a careless unit might.
CERTFLEET_PASSWORD=secret AWS_SECRET_ACCESS_KEY=also-secret agent_start hd || e2e_done
if tr '\0' '\n' <"/proc/${APID[hd]}/environ" | grep -qx CERTFLEET_PASSWORD=secret; then
	pass "agent: CERTFLEET_PASSWORD=secret is in the agent's environment"
else
	fail "agent: CERTFLEET_PASSWORD=secret is in the agent's environment"
fi
export CERTFLEET_SOCKET=$SOCKDIR/hd.sock
check "import: the chain" cf import "$P/int.pem" "$P/root.pem"
check "import: A" cf import "$P/leaf.pem" "$P/leaf.key"
check "import: B" cf import "$P/b.pem" "$P/b.key"

# no_temp DIR - no temporary file of certfleet's is left in DIR.
no_temp() { ! find "$1" -maxdepth 1 -name '.*.certfleet-*' | grep -q .; }

# ---- a planted key.pem, held open by nobody --------------------------

K=$S/ngx/nginx.key
ino_before=$(stat -c %i "$K")
expect_eq "planted: nobody owns key.pem and can read it" \
	"$(stat -c %U "$K"):$(as_nobody cat "$K" | cmp -s - "$P/leaf.key" && echo read)" "nobody:read"
# nobody opens the planted file and reads it only after the deployment.
as_nobody bash -c 'exec 3<"$1"; : >"$4"; while [ ! -e "$2" ]; do sleep 0.05; done; cat <&3 >"$3"' \
	_ "$K" "$S/ra-out/go" "$S/ra-out/held" "$S/ra-out/open" &
HOLDER=$!
for _ in $(seq 100); do
	[ -e "$S/ra-out/open" ] && break
	sleep 0.05
done
expect_eq "planted: nobody holds key.pem open" "$([ -e "$S/ra-out/open" ] && echo yes)" yes
check "planted: enable B for https" cf enable "$B" --services https
expect_eq "planted: nginx serves B" "$(served)" "$B"
expect_eq "planted: key.pem is root's now, mode 600" "$(stat -c %U:%G:%a "$K")" "root:root:600"
if [ "$(stat -c %i "$K")" != "$ino_before" ]; then
	pass "planted: key.pem is a new inode, not the planted one reused"
else
	fail "planted: key.pem is a new inode, not the planted one reused" "inode $ino_before kept"
fi
if as_nobody cat "$K" >/dev/null 2>&1; then
	fail "planted: nobody cannot read the new key"
else
	pass "planted: nobody cannot read the new key"
fi
touch "$S/ra-out/go"
wait "$HOLDER"
HOLDER=
if cmp -s "$S/ra-out/held" "$P/leaf.key" && ! cmp -s "$S/ra-out/held" "$P/b.key"; then
	pass "planted: nobody's open descriptor reads the old key, never B's"
else
	fail "planted: nobody's open descriptor reads the old key, never B's"
fi
no_temp "$S/ngx" && pass "planted: no temporary file left" ||
	fail "planted: no temporary file left"

# ---- links and directories others control: refused, nothing written ----

check_fails "link: a key path that is a link is refused, naming it" 1 \
	"symkey: read $S/sym/k.pem: refused: $S/sym/k.pem is a symbolic link" \
	cf enable "$B" --services symkey
expect_eq "link: nothing written through it" "$(cat "$ELSEWHERE")" untouched
expect_eq "link: nothing written beside it" "$(ls -A "$S/sym")" k.pem
check_fails "link: a linked directory on the way is refused, naming it" 1 \
	"symdir: read $S/link/c.pem: refused: $S/link is a symbolic link" \
	cf enable "$B" --services symdir
expect_eq "link: nothing written in the directory it points to" "$(ls -A "$S/real")" ""

check_fails "dirs: nobody's directory is refused, saying what to fix" 1 \
	"belongs to nobody \(uid 65534\), who could swap the files; chown root $S/open" \
	cf enable "$B" --services nobodys
expect_eq "dirs: nothing written in nobody's directory" "$(ls -A "$S/open")" ""
check_fails "dirs: a directory every user may write is refused" 1 \
	"every user may write in $S/ww and could swap the files; chmod o-w $S/ww" \
	cf enable "$B" --services everyones
expect_eq "dirs: nothing written there" "$(ls -A "$S/ww")" ""
check_fails "dirs: an ancestor every user may write is refused" 1 \
	"every user may write in $S/anc and could swap the files; chmod o-w $S/anc" \
	cf enable "$B" --services ancestor
expect_eq "dirs: nothing written below it" "$(ls -A "$S/anc/sub")" ""
chmod 1777 "$S/anc"
check "dirs: the same ancestor sticky (as /tmp) is accepted" \
	cf enable "$B" --services ancestor
check "dirs: owner = nobody: nobody's directory is the service's" \
	cf enable "$B" --services owned
expect_eq "dirs: its key is nobody's, 600" "$(stat -c %U:%a "$S/nob/k.pem")" "nobody:600"

# services reads what is on disk without following a link.
cp "$P/b.pem" "$S/real/c.pem"
rm -f "$S/nob/c.pem"
ln -s "$S/real/c.pem" "$S/nob/c.pem"
run cf services --json
expect_eq "services: a linked chain file is not followed, and said so" \
	"$(jq -r '.Items[] | select(.Service == "owned") | "\(.Match)|\(.Problem)"' "$OUT")" \
	"false|its files cannot be read: $S/nob/c.pem: refused: $S/nob/c.pem is a symbolic link; certfleet follows no link in a service's paths: name the real file (readlink -f)"

# ---- the commands' environment and user ------------------------------

check "env: enable B for envtest (its reload writes env)" cf enable "$B" --services envtest
expect_eq "env: only PATH, LANG and the section's env (PWD is sh's own)" \
	"$(cut -d= -f1 "$S/env/env.out" | sort | tr '\n' ' ')" "FOO GREETING LANG PATH PWD "
expect_eq "env: the section's values, a quoted one with its blank" \
	"$(grep -E '^(FOO|GREETING)=' "$S/env/env.out" | sort | tr '\n' '|')" "FOO=bar|GREETING=hello world|"
if grep -q secret "$S/env/env.out"; then
	fail "env: CERTFLEET_PASSWORD and the credential do not reach the command"
	show "$S/env/env.out"
else
	pass "env: CERTFLEET_PASSWORD and the credential do not reach the command"
fi
expect_eq "env: without run_as the command runs as root" "$(cat "$S/env/id.out")" 0
check "run_as: enable B for runas" cf enable "$B" --services runas
expect_eq "run_as: the command ran as nobody" "$(cat "$S/ra-out/id.out" 2>/dev/null)" 65534
expect_eq "run_as: its file is nobody's" "$(stat -c %U "$S/ra-out/id.out" 2>/dev/null)" nobody
if grep -q secret "$S/ra-out/env.out"; then
	fail "run_as: no secret in its environment either"
else
	pass "run_as: no secret in its environment either"
fi

e2e_done
