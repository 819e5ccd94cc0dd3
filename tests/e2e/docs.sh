#!/usr/bin/env bash
# docs.sh - the documents a new user is sent to are there and agree with
# the code: every file the README cites exists; the design and hacking
# guides exist and name what the code has; the agent's default port is the
# one every document uses; the man pages render without form-feed debris
# and list every command of certfleet's table.
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT" || exit 1

# ---- every document the README cites exists -----------------------------------
missing=
while IFS= read -r f; do
	[ -e "$f" ] || missing="$missing $f"
done < <(grep -oE '(docs/[A-Za-z0-9_.-]+|HACKING\.md|packaging/[A-Za-z0-9_.-]+)' README.md | sort -u)
expect_eq "README: every docs/, packaging/ and HACKING.md it cites exists" "${missing:-none}" none
if grep -q "project's DESIGN.md" README.md; then
	fail "README: no citation of a DESIGN.md the repository lacks"
else
	pass "README: no citation of a DESIGN.md the repository lacks"
fi
# The negative: the check above does find a missing file.
printf 'see docs/no-such-file.md\n' >"$T/readme"
n=$(grep -oE 'docs/[A-Za-z0-9_.-]+' "$T/readme" | while read -r f; do [ -e "$f" ] || echo "$f"; done)
expect_eq "README check: a cited file that is not there is found" "$n" docs/no-such-file.md

# ---- the design and hacking guides -------------------------------------------
for s in "## Layers" "## The store" "## The API" "## Deploying to a service" "## The security model"; do
	if grep -qF -- "$s" docs/design.md; then
		pass "design.md: $s"
	else
		fail "design.md: $s" "no such section"
	fi
done
for s in "## Build" "## Test" "## Add a command" "## Add a service kind" "## Commits"; do
	if grep -qF -- "$s" HACKING.md; then
		pass "HACKING.md: $s"
	else
		fail "HACKING.md: $s" "no such section"
	fi
done
# Every source file design.md names in its layer table is in the tree.
missing=
while IFS= read -r f; do
	[ -e "src/lib/$f" ] || [ -e "src/agent/$f" ] || [ -e "src/cli/$f" ] || missing="$missing $f"
done < <(grep '^| ' docs/design.md | grep -oE '`[a-z_0-9]+\.c`' | tr -d '`' | sort -u)
expect_eq "design.md: every source file it names exists" "${missing:-none}" none

# ---- one default port ---------------------------------------------------------
port=$(sed -n 's/^#define AGENT_LISTEN_DEFAULT "[^:]*:\([0-9]*\)"/\1/p' src/agent/config.h)
if [ -n "$port" ]; then
	pass "config.h: the default listen port is $port"
else
	fail "config.h: the default listen port" "AGENT_LISTEN_DEFAULT not found"
fi
# (metrics_listen's and acme_listen's examples, ports of their own for a
# local Prometheus and the ACME responder, are not the API's.)
other=$(grep -hvE 'metrics_listen|acme_listen' \
	README.md docs/certfleet.1 docs/certfleetd.8 docs/agent.conf.example src/cli/fleet.h |
	grep -oE '(10\.0\.0\.[0-9]+|127\.0\.0\.1|\[::1\]|0\.0\.0\.0):[0-9]{4}\b' |
	sed 's/.*://' | sort -u | grep -vx "$port" | tr '\n' ' ')
expect_eq "README, man pages, example config: agents listen on $port only" "${other:-none}" none

# ---- the man pages -------------------------------------------------------------
for m in docs/certfleet.1 docs/certfleetd.8; do
	if LC_ALL=C grep -q $'\x0c' "$m"; then
		fail "$m: no form-feed bytes (a \\f escape written as one)"
	else
		pass "$m: no form-feed bytes (a \\f escape written as one)"
	fi
	if command -v groff >/dev/null 2>&1; then
		w=$(groff -man -Tutf8 -ww -z "$m" 2>&1 | head -5)
		expect_eq "$m: groff renders it without warnings" "${w:-none}" none
	fi
done
# Every command of the table (as help lists it) is in certfleet(1).
cmds=$("$CERTFLEET" help 2>/dev/null | sed -n 's/^  \([a-z][a-z_-]*\)  .*/\1/p')
if [ -z "$cmds" ]; then
	fail "certfleet(1): commands" "certfleet help listed none"
fi
for c in $cmds; do
	if grep -qE "^\.(B|TP|SS).*\b$c\b|^\\\\fB$c\b|^\.B $c" docs/certfleet.1; then
		pass "certfleet(1): documents $c"
	else
		fail "certfleet(1): documents $c" "no .B/.TP line names it"
	fi
done

e2e_done
