#!/usr/bin/env bash
# help.sh - certfleet help, every command's --help, and the usage errors
# of a misspelt command or subcommand ("did you mean").
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/help.sh
#
# `help CMD [SUB]` prints what `CMD [SUB] --help` prints; every command and
# subcommand of the table (as bash completion offers them) has help that
# names every option completion offers for it, so help cannot fall behind
# the option arrays; unknown words exit 2, name the word and suggest the
# close ones.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_certfleet

export CERTFLEET_HOME=$T/home
export CERTFLEET_SOCKET=$T/no-agent.sock
unset CERTFLEET_STORE

# offered WORD... - what bash completion offers after certfleet WORD...
offered() {
	bash -c 'source <("$CERTFLEET" completion bash) || exit 9
		COMP_WORDS=("$CERTFLEET" "$@")
		COMP_CWORD=$#
		_certfleet
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
		offered "$@"
}

# ---- help CMD = CMD --help ---------------------------------------------
commands=$(offered '')
expect_eq table/commands-offered "$(echo "$commands" | grep -c .)" \
	"$(echo "$commands" | grep -cvE '^(__|$)')"
if [ "$(echo "$commands" | grep -c .)" -ge 15 ]; then
	pass table/commands-many
else
	fail table/commands-many "only: $commands"
fi

run cf --help
top=$(cat "$OUT")
check help/top cf help
expect_eq help/top-is--help "$(cat "$OUT")" "$top"
for c in $commands; do
	if grep -qE "^  $c " "$OUT"; then
		pass "help/top-lists/$c"
	else
		fail "help/top-lists/$c" "certfleet help does not list $c"
	fi
done
if grep -q __complete "$OUT"; then
	fail help/top-hides-callback "lists __complete"
else
	pass help/top-hides-callback
fi

# help_lists NAME WORD... - help WORD... exits 0, prints exactly what
# WORD... --help prints, and names every option completion offers.
help_lists() {
	local name=$1 o missing=
	shift
	run cf "$@" --help
	local direct=$OUT.direct
	cp "$OUT" "$direct"
	if [ "$RC" -ne 0 ] || [ ! -s "$direct" ] || [ -s "$ERR" ]; then
		fail "$name/--help" "exit $RC or no output from: $* --help"
		show "$ERR"
		return 1
	fi
	run cf help "$@"
	if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$direct"; then
		pass "$name/help-is--help"
	else
		fail "$name/help-is--help" "exit $RC; help $* differs from $* --help"
	fi
	for o in $(offered "$@" --); do
		grep -qE -- "$o([^a-z-]|\$)" "$direct" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		pass "$name/lists-every-option"
	else
		fail "$name/lists-every-option" "help $* does not name:$missing"
	fi
}

for c in $commands; do
	help_lists "help/$c" "$c"
	# (help's own words are commands, checked above)
	[ "$c" = help ] && continue
	for s in $(offered "$c" ''); do
		help_lists "help/$c-$s" "$c" "$s"
	done
done
# The matcher above can fail: get's help names no option of export's.
run cf help get
if grep -qE -- "--binary([^a-z-]|\$)" "$OUT"; then
	fail help/get-not-export "get's help names --binary"
else
	pass help/get-not-export
fi
# --password is there only to be refused: never offered, never shown.
expect_eq help/no-password "$(offered export --password)" --password-file

# ---- unknown words -----------------------------------------------------
# fails_with NAME PATTERN CMD... - exit 2, stderr matches, stdout empty.
fails_with() {
	local name=$1 pat=$2
	shift 2
	check_fails "$name" 2 "$pat" "$@" || return 1
	[ -s "$OUT" ] && fail "$name/stdout" "output on stdout" && show "$OUT"
	return 0
}

fails_with misspelt/command '^certfleet: exprot: unknown command; did you mean export\?$' cf exprot
fails_with misspelt/swap '^certfleet: gte: unknown command; did you mean get\?$' cf gte
fails_with misspelt/prefix 'did you mean status or store\?$' cf st
fails_with misspelt/prefix-unique 'did you mean services\?$' cf serv
fails_with misspelt/far '^certfleet: bogus: unknown command \(certfleet help lists the commands\)$' cf bogus
if grep -q 'did you mean' "$ERR"; then
	fail misspelt/far-no-guess "suggests for bogus"
else
	pass misspelt/far-no-guess
fi
fails_with misspelt/hidden 'unknown command \(' cf __complet
fails_with help/bogus '^certfleet: help: bogus: unknown command' cf help bogus
fails_with help/misspelt '^certfleet: help: exprot: unknown command; did you mean export\?$' cf help exprot
fails_with help/no-subcommands '^certfleet: help: get has no subcommands$' cf help get all
fails_with help/too-many 'unexpected argument c' cf help request new c
fails_with help/bad-subcommand '^certfleet: request: nwe: unknown subcommand; did you mean request new\?$' cf help request nwe
fails_with request/bogus '^certfleet: request: bogus: unknown subcommand \(request new, request complete\)$' cf request bogus
fails_with request/misspelt '^certfleet: request: compleet: unknown subcommand; did you mean request complete\?$' cf request compleet
fails_with request/none 'give new or complete' cf request
fails_with fleet/bogus '^certfleet: fleet: bogus: unknown subcommand \(fleet add, fleet list, fleet remove, fleet group\)$' cf fleet bogus
fails_with completion/fish '^certfleet: completion: fish: unknown subcommand \(completion bash, completion zsh\)$' cf completion fish
fails_with completion/none 'which shell' cf completion
# A right word still runs.
check request/right cf request new --help
check completion/bash cf completion bash

e2e_done
