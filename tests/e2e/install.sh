#!/usr/bin/env bash
# install.sh - installation, both ways.
#
# make install / make uninstall into a DESTDIR: the exact list of files and
# their modes, the unit pointing at the installed agent, the example
# configuration installed only when absent and removed only while
# unedited, completion from `certfleet completion` (accepted as absent only
# while that command fails).
#
# The Debian packages: built by dpkg-buildpackage from a copy of the tree
# in $T (its artefacts land beside that copy, never beside the tree),
# checked by lintian, INSTALLED ON THIS MACHINE with apt and purged at the
# end (also when a check fails).  postinst makes the agent's state once;
# the agent runs from the package, under systemd where systemd is PID 1,
# else directly on a loopback port, and answers certfleet on its socket and
# over mutual TLS; the unit passes `systemd-analyze verify`; apt purge
# leaves nothing behind.  certfleetd runs as root (its unit says why), so
# the package makes no system user and there is none to leave.
#
# Root only for the package half (apt); it refuses to run when a
# certfleetd package or its directories are already on the machine.
. "$(dirname "$0")/lib.sh"
require_certfleet

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
# A make of the tree's own, whatever make called us with.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$E2E_ROOT" "$@"; }
# files DIR - every file and symlink under DIR, with its mode, sorted.
files() { (cd "$1" && find . ! -type d -printf '%m %P\n' | sort -k2); }

# --- make install / uninstall ----------------------------------------------

BIN=$E2E_ROOT/build/certfleet # what make install installs (B=build)
COMPLETION=yes
if ! "$BIN" completion bash >"$T/completion.bash" 2>/dev/null ||
	! "$BIN" completion zsh >"$T/completion.zsh" 2>/dev/null; then
	COMPLETION=no
	echo "# note: 'certfleet completion' fails here: completion is not installed (accepted only while it fails)"
fi
{
	echo "644 etc/certfleet/agent.conf"
	echo "755 usr/local/bin/certfleet"
	echo "755 usr/local/lib/certfleet/certfleet-full"
	echo "644 usr/local/lib/systemd/system/certfleetd.service"
	echo "644 usr/local/lib/systemd/user/certfleet-autopilot.service"
	echo "644 usr/local/lib/systemd/user/certfleet-autopilot.timer"
	echo "755 usr/local/sbin/certfleetd"
	[ "$COMPLETION" = no ] || echo "644 usr/local/share/bash-completion/completions/certfleet"
	echo "644 usr/local/share/man/man1/certfleet.1"
	echo "644 usr/local/share/man/man8/certfleetd.8"
	[ "$COMPLETION" = no ] || echo "644 usr/local/share/zsh/vendor-completions/_certfleet"
} >"$T/want.list"

D=$T/dest
run mk install DESTDIR="$D"
expect_eq "make install: exits 0" "$RC" 0
[ "$RC" -eq 0 ] || show "$ERR" 20
if [ "$(files "$D")" = "$(cat "$T/want.list")" ]; then
	pass "make install: lays out exactly the expected files, with their modes"
else
	fail "make install: lays out exactly the expected files, with their modes" \
		"diff expected installed:" "$(diff "$T/want.list" <(files "$D"))"
fi
if [ "$COMPLETION" = yes ]; then
	if cmp -s "$T/completion.bash" "$D/usr/local/share/bash-completion/completions/certfleet" &&
		cmp -s "$T/completion.zsh" "$D/usr/local/share/zsh/vendor-completions/_certfleet"; then
		pass "make install: the completion files are certfleet completion's output"
	else
		fail "make install: the completion files are certfleet completion's output"
	fi
else
	if grep -q "warning: .*certfleet completion bash' failed" "$ERR"; then
		pass "make install: warns that it skipped completion"
	else
		fail "make install: warns that it skipped completion"
		show "$ERR"
	fi
fi
cmp -s "$E2E_ROOT/build/certfleetd" "$D/usr/local/sbin/certfleetd" &&
	cmp -s "$E2E_ROOT/docs/certfleetd.8" "$D/usr/local/share/man/man8/certfleetd.8"
expect_eq "make install: the binaries and man pages are the tree's" "$?" 0
cmp -s "$E2E_ROOT/build/certfleet" "$D/usr/local/bin/certfleet" &&
	cmp -s "$E2E_ROOT/build/certfleet-full" "$D/usr/local/lib/certfleet/certfleet-full"
expect_eq "make install: certfleet is the front-end, certfleet-full the whole CLI" "$?" 0
# The front-end finds the full one where make install put it, relative
# to itself (the tree under DESTDIR is not at /usr/local).
run "$D/usr/local/bin/certfleet" --version
expect_eq "make install: the installed certfleet runs the installed certfleet-full" \
	"$RC $(cut -d' ' -f1,2 "$OUT")" "0 $(cf --version | cut -d' ' -f1,2)"
UNIT=$D/usr/local/lib/systemd/system/certfleetd.service
expect_eq "make install: the unit runs the installed agent" \
	"$(grep -E '^Exec(Start|StartPre)=' "$UNIT")" \
	"$(printf '%s\n' 'ExecStartPre=/usr/local/sbin/certfleetd init' 'ExecStart=/usr/local/sbin/certfleetd run')"
# The autopilot's user units: the installed command, hourly, valid for
# systemd's user manager (verified against the copy in DESTDIR).
AP=$D/usr/local/lib/systemd/user/certfleet-autopilot
# shellcheck disable=SC2016 # the unit's variable, for systemd to expand
expect_eq "make install: the autopilot's unit runs the installed command" \
	"$(grep -E '^ExecStart=' "$AP.service")" \
	'ExecStart=/usr/local/bin/certfleet autopilot $CERTFLEET_AUTOPILOT_ARGS'
expect_eq "make install: the autopilot's timer is hourly, spread, persistent" \
	"$(grep -E '^(OnCalendar|RandomizedDelaySec|Persistent)=' "$AP.timer" | tr '\n' ' ')" \
	"OnCalendar=hourly RandomizedDelaySec=20min Persistent=true "
mkdir -p "$T/units" "$T/xdg"
chmod 700 "$T/xdg"
sed "s#^ExecStart=/usr/local/bin/certfleet#ExecStart=$D/usr/local/bin/certfleet#" \
	"$AP.service" >"$T/units/certfleet-autopilot.service"
cp "$AP.timer" "$T/units/"
check "make install: the autopilot's units pass systemd-analyze --user verify" \
	env XDG_RUNTIME_DIR="$T/xdg" systemd-analyze --user --man=no verify \
	"$T/units/certfleet-autopilot.service" "$T/units/certfleet-autopilot.timer"
sed 's#^ExecStart=.*certfleet autopilot#ExecStart=/nonexistent/certfleet autopilot#' \
	"$T/units/certfleet-autopilot.service" >"$T/units/broken.service"
check_fails "make install: verify rejects an autopilot unit with no command" 1 "not executable" \
	env XDG_RUNTIME_DIR="$T/xdg" systemd-analyze --user --man=no verify "$T/units/broken.service"
CONF=$D/etc/certfleet/agent.conf
# The example names an agent ex1: an installed configuration must not.
if grep -q '^#name = ex1 ' "$CONF" && ! grep -Eq '^[^#;]*; *example$' "$CONF" &&
	[ "$(grep -c '^#' "$CONF")" -gt 10 ] && grep -q '^state = /var/lib/certfleet$' "$CONF"; then
	pass "make install: agent.conf is the example, its example-only values commented out"
else
	fail "make install: agent.conf is the example, its example-only values commented out"
	show "$CONF" 20
fi

run mk uninstall DESTDIR="$D"
expect_eq "make uninstall: exits 0" "$RC" 0
expect_eq "make uninstall: removes every file it installed" "$(files "$D")" ""
expect_eq "make uninstall: removes /etc/certfleet, which it made" \
	"$(ls -d "$D/etc/certfleet" 2>/dev/null)" ""

# An administrator's configuration: never overwritten, never removed.
D2=$T/dest2
mkdir -p "$D2/etc/certfleet"
printf '[agent]\nname = mine\n' >"$D2/etc/certfleet/agent.conf"
run mk install DESTDIR="$D2"
if [ "$RC" -eq 0 ] && [ "$(cat "$D2/etc/certfleet/agent.conf")" = "$(printf '[agent]\nname = mine')" ] &&
	grep -q 'agent.conf exists: kept' "$OUT"; then
	pass "make install: an existing agent.conf is kept as it is, and it says so"
else
	fail "make install: an existing agent.conf is kept as it is, and it says so" "exit $RC"
	show "$D2/etc/certfleet/agent.conf"
fi
run mk uninstall DESTDIR="$D2"
if [ "$RC" -eq 0 ] && [ "$(files "$D2")" = "644 etc/certfleet/agent.conf" ] &&
	grep -q 'agent.conf was edited: kept' "$OUT"; then
	pass "make uninstall: keeps an edited agent.conf, removes the rest"
else
	fail "make uninstall: keeps an edited agent.conf, removes the rest" "exit $RC" "$(files "$D2")"
fi

# --- the Debian packages ---------------------------------------------------

for tool in dpkg-buildpackage dh lintian systemd-analyze; do
	if ! command -v "$tool" >/dev/null; then
		fail "deb: $tool is there" "missing: run scripts/setup-deps.sh (make test does)"
		e2e_done
	fi
done

# The build, from a copy: dpkg-buildpackage writes beside its tree.
PARENT=$(dirname "$E2E_ROOT")
# artefacts DIR - what a package build may leave in DIR.
artefacts() {
	find "$1" -maxdepth 1 -regextype posix-extended \
		-regex '.*/[^/]*_[^/]*\.(deb|ddeb|changes|buildinfo|dsc|tar\.[a-z0-9]+)' -printf '%f\n' | sort
}
artefacts "$PARENT" >"$T/parent.before"
git -C "$E2E_ROOT" status --porcelain --ignored 2>/dev/null >"$T/tree.before"
P=$T/pkg
mkdir -p "$P/src"
tar -C "$E2E_ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$P/src" -xf -
run env -C "$P/src" DEB_BUILD_OPTIONS="parallel=2 nocheck" \
	timeout -k 10 300 dpkg-buildpackage -b -us -uc
if [ "$RC" -eq 0 ]; then
	pass "deb: dpkg-buildpackage builds"
else
	fail "deb: dpkg-buildpackage builds" "exit $RC"
	tail -n 30 "$OUT" | sed 's/^/    | /'
	show "$ERR" 20
	e2e_done
fi
artefacts "$PARENT" >"$T/parent.after"
git -C "$E2E_ROOT" status --porcelain --ignored 2>/dev/null >"$T/tree.after"
if cmp -s "$T/parent.before" "$T/parent.after" && cmp -s "$T/tree.before" "$T/tree.after"; then
	pass "deb: the build leaves nothing in the tree or beside it"
else
	fail "deb: the build leaves nothing in the tree or beside it" \
		"$(diff "$T/parent.before" "$T/parent.after")" "$(diff "$T/tree.before" "$T/tree.after")"
fi
DEB_D=$(ls "$P"/certfleetd_*.deb 2>/dev/null)
DEB_C=$(ls "$P"/certfleet_*.deb 2>/dev/null)

# contents NAME.deb - its files (not directories), sorted.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | sort; }
expect_eq "deb: certfleetd holds the agent, its unit, man page and configuration" \
	"$(contents "$DEB_D")" "$(printf '%s\n' etc/certfleet/agent.conf \
		lib/systemd/system/certfleetd.service usr/sbin/certfleetd \
		usr/share/doc/certfleetd/changelog.gz usr/share/doc/certfleetd/copyright \
		usr/share/man/man8/certfleetd.8.gz)"
expect_eq "deb: certfleet holds the command, its man page, completion and the autopilot's units" \
	"$(contents "$DEB_C")" "$( {
		printf '%s\n' usr/bin/certfleet usr/lib/certfleet/certfleet-full \
			usr/share/doc/certfleet/changelog.gz \
			usr/share/doc/certfleet/copyright usr/share/man/man1/certfleet.1.gz \
			usr/share/lintian/overrides/certfleet \
			usr/lib/systemd/user/certfleet-autopilot.service \
			usr/lib/systemd/user/certfleet-autopilot.timer
		[ "$COMPLETION" = no ] || printf '%s\n' usr/share/bash-completion/completions/certfleet \
			usr/share/zsh/vendor-completions/_certfleet
	} | sort)"
expect_eq "deb: agent.conf is a conffile" \
	"$(dpkg-deb --ctrl-tarfile "$DEB_D" | tar -xOf - ./conffiles)" /etc/certfleet/agent.conf
run lintian --no-tag-display-limit "$DEB_D" "$DEB_C"
tags=$(grep -E '^[EW]: ' "$OUT")
expect_eq "deb: lintian reports no error or warning" "$tags" ""

if [ "$(id -u)" != 0 ]; then
	echo "# note: not root: the packages are built, not installed (apt needs root)"
	e2e_done
fi
# What the packages put on the machine, and what purge must take away.
LEFTOVERS=(/etc/certfleet /var/lib/certfleet /run/certfleet /usr/sbin/certfleetd
	/usr/bin/certfleet /lib/systemd/system/certfleetd.service
	/etc/systemd/system/multi-user.target.wants/certfleetd.service
	/usr/share/doc/certfleet /usr/share/doc/certfleetd
	/usr/share/man/man1/certfleet.1.gz /usr/share/man/man8/certfleetd.8.gz
	/usr/share/bash-completion/completions/certfleet /usr/share/zsh/vendor-completions/_certfleet
	/usr/lib/systemd/user/certfleet-autopilot.service /usr/lib/systemd/user/certfleet-autopilot.timer)
present() {
	local f
	for f in "${LEFTOVERS[@]}"; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done
	ls /var/lib/dpkg/info/certfleet.* /var/lib/dpkg/info/certfleetd.* \
		/var/lib/systemd/deb-systemd-helper-enabled/certfleetd.service* \
		/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/certfleetd.service \
		2>/dev/null
	return 0
}
if dpkg-query -W -f='${Status}\n' certfleet certfleetd 2>/dev/null | grep -qv 'not-installed'; then
	fail "deb: this machine has no certfleet package of its own" \
		"installed: $(dpkg-query -W certfleet certfleetd 2>/dev/null | tr '\n' ' ')" \
		"the test installs and purges its own; remove them first"
	e2e_done
fi
if [ -n "$(present)" ]; then
	fail "deb: this machine has no certfleet files of its own" "$(present)" \
		"the test would install over them and purge them; remove them first"
	e2e_done
fi

echo "# installing certfleet and certfleetd on this machine; purged at the end"
INSTALLED=yes
purge() {
	"${APT[@]}" purge certfleet certfleetd
}
# shellcheck disable=SC2317 # run by the EXIT trap
on_exit() {
	[ -z "${AGENT:-}" ] || { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }
	[ "$INSTALLED" = no ] || purge >/dev/null 2>&1
	rm -rf "$T"
}
trap on_exit EXIT
run "${APT[@]}" install --no-install-recommends "$DEB_D" "$DEB_C"
if [ "$RC" -eq 0 ]; then
	pass "deb: apt installs both packages"
else
	fail "deb: apt installs both packages" "exit $RC"
	show "$ERR" 20
	tail -n 20 "$OUT" | sed 's/^/    | /'
	e2e_done
fi
if grep -q '^agent identity /var/lib/certfleet/agent.crt' "$OUT" &&
	[ -f /var/lib/certfleet/agent.key ] && [ "$(stat -c %a /var/lib/certfleet)" = 700 ]; then
	pass "deb: postinst made the agent's state (certfleetd init), 0700"
else
	fail "deb: postinst made the agent's state (certfleetd init), 0700"
	show "$OUT" 30
fi
expect_eq "deb: the unit is enabled: multi-user.target wants it" \
	"$(readlink /etc/systemd/system/multi-user.target.wants/certfleetd.service)" \
	/lib/systemd/system/certfleetd.service
# The autopilot is the admin's to enable (systemctl --user): the package
# enables it for nobody.
if [ -f /usr/lib/systemd/user/certfleet-autopilot.timer ] &&
	[ ! -e /etc/systemd/user/timers.target.wants/certfleet-autopilot.timer ]; then
	pass "deb: the autopilot's timer is installed, enabled for no user"
else
	fail "deb: the autopilot's timer is installed, enabled for no user"
fi
HOSTCERT=$(sed -n 's/^host certificate \([0-9A-F]\{40\}\): .*/\1/p' "$OUT")
key=$(sha256sum </var/lib/certfleet/agent.key 2>/dev/null)
run "${APT[@]}" install --reinstall --no-install-recommends "$DEB_D"
if [ "$RC" -eq 0 ] && ! grep -qE 'agent identity|already initialized' "$OUT" &&
	[ "$(sha256sum </var/lib/certfleet/agent.key)" = "$key" ]; then
	pass "deb: a reinstall leaves the state alone, without running init"
else
	fail "deb: a reinstall leaves the state alone, without running init" "exit $RC"
	show "$OUT" 30
fi

# The agent from the package answers certfleet.
if [ -d /run/systemd/system ]; then
	echo "# systemd is PID 1: certfleetd runs as the certfleetd service"
	for _ in $(seq 100); do
		systemctl is-active --quiet certfleetd && [ -S /run/certfleet/agent.sock ] && break
		sleep 0.1
	done
	expect_eq "deb: the certfleetd service is active" "$(systemctl is-active certfleetd)" active
	SOCK=/run/certfleet/agent.sock
else
	echo "# no systemd as PID 1 here: running the installed /usr/sbin/certfleetd directly"
	SOCK=$T/agent.sock
	printf '[agent]\nlisten = 127.0.0.1:0\nsocket = %s\nstate = /var/lib/certfleet\n' "$SOCK" >"$T/agent.conf"
	/usr/sbin/certfleetd run --config "$T/agent.conf" >/dev/null 2>"$T/agent.log" </dev/null &
	AGENT=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/agent.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	if [ -n "$port" ]; then
		pass "deb: the installed certfleetd runs on the postinst's state"
	else
		fail "deb: the installed certfleetd runs on the postinst's state"
		show "$T/agent.log"
	fi
fi
run env CERTFLEET_SOCKET="$SOCK" /usr/bin/certfleet get --json
expect_eq "deb: certfleet gets the host certificate from it on its socket" \
	"$(jq -r '.Items[0].Thumbprint' "$OUT" 2>/dev/null)" "${HOSTCERT:-none}"
if [ -n "${AGENT:-}" ]; then # and over mutual TLS, once authorized
	export CERTFLEET_HOME=$T/admin
	/usr/bin/certfleet id >/dev/null
	/usr/bin/certfleet fleet add pkg "127.0.0.1:$port" \
		--fingerprint "$(/usr/sbin/certfleetd fingerprint --config "$T/agent.conf")" >/dev/null
	check_fails "deb: certfleet --server is refused before authorize" 1 "not authorized" \
		/usr/bin/certfleet --server pkg get
	/usr/sbin/certfleetd authorize "$(/usr/bin/certfleet id | head -n 1)" --role reader \
		--config "$T/agent.conf" >/dev/null
	run /usr/bin/certfleet --server pkg get --json
	expect_eq "deb: certfleet --server gets the host certificate over mutual TLS" \
		"$(jq -r '.Items[0].Thumbprint' "$OUT" 2>/dev/null)" "${HOSTCERT:-none}"
	kill -TERM "$AGENT"
	wait "$AGENT"
	expect_eq "deb: the agent stops cleanly on SIGTERM" "$?" 0
	AGENT=
	unset CERTFLEET_HOME
fi

# The unit, as installed.  man finds the page the package installed,
# unless this system strips man pages (then the check is left out, said).
MAN=yes
man -w certfleetd >/dev/null 2>&1 || {
	MAN=no
	echo "# note: man cannot find certfleetd(8) here: systemd-analyze verify --man=no"
}
run systemd-analyze verify --man="$MAN" /lib/systemd/system/certfleetd.service
if [ "$RC" -eq 0 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ]; then
	pass "deb: the unit passes systemd-analyze verify"
else
	fail "deb: the unit passes systemd-analyze verify" "exit $RC"
	show "$ERR"
	show "$OUT"
fi
# The same check fails on a unit whose agent is not there.
sed 's#^ExecStart=/usr/sbin/certfleetd#ExecStart=/usr/sbin/no-certfleetd#' \
	/lib/systemd/system/certfleetd.service >"$T/certfleetd.service"
check_fails "deb: systemd-analyze verify rejects a unit with no agent" 1 "no-certfleetd" \
	systemd-analyze verify --man=no "$T/certfleetd.service"

# The installed unit's exposure: at most 3.0 ("OK"), where this
# systemd-analyze scores unit files offline (systemd 252 and later); the
# same unit without its sandbox scores worse (the check can fail).
# exposure FILE - the overall exposure level systemd-analyze gives FILE.
exposure() {
	systemd-analyze security --offline=yes --no-pager "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'
}
if systemd-analyze --help 2>/dev/null | grep -q -- '--offline'; then
	score=$(exposure /lib/systemd/system/certfleetd.service)
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'; then
		pass "deb: the unit's exposure is at most 3.0 ($score)"
	else
		fail "deb: the unit's exposure is at most 3.0" "systemd-analyze says '${score:-nothing}'"
	fi
	grep -Ev '^(CapabilityBoundingSet|ProtectSystem|SystemCallFilter|PrivateDevices)=' \
		/lib/systemd/system/certfleetd.service >"$T/open.service"
	score=$(exposure "$T/open.service")
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s > 3.0) }'; then
		pass "deb: without its sandbox the unit scores worse ($score)"
	else
		fail "deb: without its sandbox the unit scores worse" "got '${score:-nothing}'"
	fi
else
	echo "# note: systemd-analyze security --offline is not here: exposure not scored"
fi

run purge
INSTALLED=no
expect_eq "deb: apt purge removes both" "$RC" 0
expect_eq "deb: dpkg knows neither package afterwards" \
	"$(dpkg-query -W -f='${Package} ${Status}\n' certfleet certfleetd 2>/dev/null | grep -v 'not-installed')" ""
expect_eq "deb: nothing is left: state, configuration, unit, links, files" "$(present)" ""

e2e_done
