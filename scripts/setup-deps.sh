#!/bin/sh
# shellcheck disable=SC2086,SC2046,SC2116,SC2005 # word lists, split on purpose
# setup-deps.sh - install the Debian 12 packages certfleet needs to build and
# test, and only those that are missing.
#
#   scripts/setup-deps.sh          as root, or as a user with sudo
#
# Quiet and fast when everything is present: one dpkg-query and one
# apt-cache look-up, no network.  Otherwise one `apt-get update`, then one
# `apt-get install` of what is missing, and the libssl3/openssl upgrade that
# DESIGN.md asks for (Debian 12 may carry an older libssl3 than its security
# archive offers).  The upgrade is best effort: when the archive cannot be
# reached but the packages are present, the run goes on with a warning.
set -eu
set -f # package lists are plain words, split on purpose throughout

# Build: compiler, pkg-config and the libraries the Makefile links.
# Tests: sqlite3 (store snapshots), jq (JSON), clang (fuzz harnesses,
# sanitizers), clang-format (make format-check), the other PKCS#12
# implementations of tests/e2e/interop.sh (gnutls-bin: certtool; libnss3-tools: certutil, pk12util; a JRE: keytool;
# python3-cryptography), expect and util-linux (script) for prompt tests,
# python3-jsonschema for the JSON schemas of docs/json.md (tests/e2e/json.sh).
# Services tests (tests/e2e/servers-lib.sh): the real servers certfleetd
# deploys to, run as private instances on loopback ports.  Debian 12's
# "nginx" is the server itself, with ssl (nginx-light is only a metapackage).
# Packaging tests (tests/e2e/install.sh): dpkg-buildpackage (dpkg-dev,
# debhelper), lintian, systemd-analyze (systemd) and man (man-db) for
# `systemd-analyze verify` of the unit.  etcd registry tests
# (tests/e2e/etcd-lib.sh): etcd-server and etcd-client, private clusters on
# loopback; Debian's etcd service is kept from starting as the others are.
# Alert rules (tests/e2e/alert-rules.sh): promtool, which comes with
# Debian's prometheus (its service, on port 9090, is kept from starting too).
# The web console (tests/e2e/console.sh): chromium, headless, driven over
# its DevTools pipe by Python's standard library.
# ACME (src/acme): libcurl4-openssl-dev, the HTTPS client to the CA;
# libldns-dev and BIND's nsupdate (bind9-dnsutils) for DNS-01;
# tests/e2e/acme-core.sh runs Debian's pebble (and pebble-challtestsrv,
# its DNS) as a private test CA on loopback, tests/e2e/acme-dns01.sh a
# BIND (bind9) primary and secondary.
PACKAGES="build-essential pkg-config libssl-dev libssl3 openssl libsqlite3-dev
libjansson-dev libevent-dev libinih-dev libseccomp-dev libcurl4-openssl-dev libldns-dev bind9 bind9-dnsutils pebble sqlite3 jq clang clang-format gnutls-bin libnss3-tools
python3 python3-cryptography python3-jsonschema expect util-linux zsh
nginx haproxy postfix dovecot-core dovecot-imapd dovecot-pop3d
dpkg-dev debhelper lintian systemd man-db etcd-server etcd-client prometheus
chromium"
# keytool: either JRE package will do; the first one is installed if neither is.
JAVA_ALTERNATIVES="default-jre-headless openjdk-17-jre-headless"
# Upgraded to the archive's newest version when one is on offer.
UPGRADE="libssl3 openssl libssl-dev"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS="-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600"

say() { printf 'setup-deps: %s\n' "$*"; }
warn() { printf 'setup-deps: warning: %s\n' "$*" >&2; }

if [ ! -r /etc/debian_version ] || ! command -v dpkg-query >/dev/null 2>&1; then
	warn "this is not a Debian system; install by hand: $PACKAGES"
	exit 1
fi

# Prints the packages of "$@" that are not fully installed.
missing_of() {
	# One dpkg-query for all of them; unknown names print nothing to stdout.
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
		awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }') || true
	for p in "$@"; do
		case " $(echo $installed) " in
		*" $p "*) ;;
		*) printf '%s\n' "$p" ;;
		esac
	done
}

# Prints the packages of "$@" for which apt's lists (as they are, no network)
# offer a newer version than the one installed.
upgradable_of() {
	LC_ALL=C apt-cache policy "$@" 2>/dev/null | awk '
		/^[^ ].*:$/ { pkg = substr($1, 1, length($1) - 1); inst = ""; next }
		/^  Installed:/ { inst = $2; next }
		/^  Candidate:/ { print pkg, inst, $2 }' |
	while read -r pkg inst cand; do
		if [ "$inst" = "(none)" ] || [ "$cand" = "(none)" ]; then
			continue
		fi
		if dpkg --compare-versions "$cand" gt "$inst"; then
			printf '%s\n' "$pkg"
		fi
	done
}
missing=$(missing_of $PACKAGES)
java_missing=$(missing_of $JAVA_ALTERNATIVES)
if [ "$(echo $java_missing)" = "$(echo $JAVA_ALTERNATIVES)" ]; then
	missing="$missing ${JAVA_ALTERNATIVES%% *}"
fi
missing=$(echo $missing)
upgradable=$(echo $(upgradable_of $UPGRADE))

[ -z "$missing" ] && [ -z "$upgradable" ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		# sudo resets the environment: hand the frontend setting on.
		SUDO="sudo env DEBIAN_FRONTEND=noninteractive"
	else
		warn "not root and no sudo; install by hand: ${missing:-} ${upgradable:-}"
		[ -z "$missing" ] && exit 0
		exit 1
	fi
fi

# The server packages must not start their system services when installed
# (nor be restarted by the libssl3 upgrade): the tests run private instances
# on their own ports, and a system nginx or postfix has no business on this
# machine's ports.  A policy-rc.d that exits 101 tells invoke-rc.d (and so
# every maintainer script) "not allowed"; it exists only while apt runs, and
# only when there was none: a policy the machine already has is left as it
# is.  The trap removes ours on any exit, failures included.
POLICY_RC=/usr/sbin/policy-rc.d
policy_made=no
# shellcheck disable=SC2317 # run by the EXIT trap
remove_policy() {
	if [ "$policy_made" = yes ]; then
		$SUDO rm -f "$POLICY_RC"
		policy_made=no
	fi
}
forbid_service_starts() {
	[ -e "$POLICY_RC" ] && return 0
	trap 'remove_policy' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	policy_made=yes
	$SUDO sh -c "printf '%s\n' '#!/bin/sh' \
		'# scripts/setup-deps.sh of certfleet: no service starts while it installs' \
		'exit 101' >$POLICY_RC && chmod 755 $POLICY_RC"
}

updated=no
apt_update() {
	[ "$updated" = no ] || return 0
	updated=yes
	say "apt-get update"
	# A source that cannot be reached makes update fail; the lists that did
	# arrive are still used, so go on and let the install decide.
	$SUDO apt-get $APT_OPTS update >/dev/null ||
		warn "apt-get update reported errors; going on with the lists at hand"
}

if [ -n "$missing" ] || [ -n "$upgradable" ]; then
	forbid_service_starts
fi

if [ -n "$missing" ]; then
	apt_update
	# The JRE's post-install wants man directories that slim images omit.
	$SUDO mkdir -p /usr/share/man/man1
	# postfix asks what kind of mail system this is: "No configuration"
	# answers without a prompt and writes no /etc/postfix/main.cf, so the
	# system instance has nothing to run (the tests bring their own).
	case " $missing " in
	*" postfix "*)
		echo "postfix postfix/main_mailer_type select No configuration" |
			$SUDO debconf-set-selections
		;;
	esac
	say "installing: $missing"
	if ! $SUDO apt-get $APT_OPTS install --no-install-recommends $missing >/dev/null; then
		warn "apt-get install failed; retrying with its output shown"
		$SUDO apt-get $APT_OPTS install --no-install-recommends $missing
	fi
	upgradable=$(echo $(upgradable_of $UPGRADE))
fi

# The upgrade: libssl-dev goes with libssl3 (it depends on the exact version).
if [ -n "$upgradable" ]; then
	say "upgrading: $upgradable"
	if ! $SUDO apt-get $APT_OPTS install --only-upgrade $UPGRADE >/dev/null 2>&1; then
		if [ "$updated" = no ]; then
			apt_update
			$SUDO apt-get $APT_OPTS install --only-upgrade $UPGRADE >/dev/null 2>&1 ||
				warn "could not upgrade $upgradable (no archive?); keeping the installed versions"
		else
			warn "could not upgrade $upgradable (no archive?); keeping the installed versions"
		fi
	fi
fi

# Whatever happened above, everything needed must be there now.
still=$(echo $(missing_of $PACKAGES))
if [ -n "$still" ]; then
	warn "still missing: $still"
	exit 1
fi
exit 0
