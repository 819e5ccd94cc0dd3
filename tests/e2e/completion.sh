#!/usr/bin/env bash
# completion.sh - the shell completion `certfleet completion bash|zsh`
# prints, driven as the shells drive it: COMP_WORDS/COMP_CWORD and
# _certfleet for bash; words/CURRENT and _certfleet with compadd caught
# for zsh.
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/completion.sh
#
# Commands, subcommands and options (from the command table), fleet names
# (from a fleet file under a private CERTFLEET_HOME, also in a
# comma-separated list and after --server=), thumbprint prefixes (from a
# --store holding two certificates, and from --from for copy); beside each
# a nonsense prefix that must complete to nothing.  A missing store, a
# dead agent and one that never answers give nothing, no error output and
# no store, and the last within the callback's time limit.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# (The shells' code below is single-quoted on purpose: it expands there.)

require_certfleet

export CERTFLEET_HOME=$T/home
export CERTFLEET_SOCKET=$T/no-agent.sock
unset CERTFLEET_STORE CERTFLEET_PASSWORD
FP=SHA256:$(printf '%064d' 0 | tr 0 a)

# complete_bash WORD... - what bash offers, one a line, sorted, for the
# command line certfleet WORD..., the cursor at the end of the last word
# (or of word $CWORD).
complete_bash() {
	run bash -c 'source <("$CERTFLEET" completion bash) || exit 9
		COMP_WORDS=("$CERTFLEET" "$@")
		COMP_CWORD=${CWORD:-$#}
		_certfleet
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
		complete "$@"
	sort -o "$OUT" "$OUT"
}

# offers NAME WANT WORD... - bash offers exactly the lines of WANT (sorted),
# and nothing on stderr.
offers() {
	local name=$1 want=$2
	shift 2
	complete_bash "$@"
	if [ "$RC" -ne 0 ] || [ -s "$ERR" ]; then
		fail "$name" "exit $RC or error output completing: $*"
		show "$ERR"
		return 1
	fi
	expect_eq "$name" "$(cat "$OUT")" "$(printf '%s\n' "$want" | sort)"
}

# ---- commands, subcommands, options ----------------------------------
offers bash/command export ex
offers bash/command-several "$(printf 'registry\nremove\nrenew\nreplace\nrequest\nrevoke')" re
offers bash/command-none "" xyzzy
offers bash/command-hidden "" __comp
offers bash/subcommand "$(printf 'new\ncomplete')" request ''
offers bash/subcommand-none "" request zz
offers bash/option --binary export --bi
offers bash/option-none "" export --xyzzy
offers bash/option-after-arg --fields get ABCD --fie
offers bash/option-of-sub --subject request new --sub
offers bash/option-revoke --acme-ca-file revoke ABCD1234 --acme
offers bash/option-global --version --vers
offers bash/no-password-option --password-file export --passw
offers bash/no-option-of-another "" remove --servi
offers bash/help-command export help exp
offers bash/help-subcommand complete help request com

# ---- fleet names ------------------------------------------------------
# One address each: fleet add refuses a second name for one agent.
port=1
for n in ex1 ex2 web1; do
	check "setup/fleet-add-$n" cf fleet add "$n" "127.0.0.1:$port" --fingerprint "$FP"
	port=$((port + 1))
done
offers bash/fleet "$(printf 'ex1\nex2')" --server e
offers bash/fleet-all "$(printf 'all\nex1\nex2\nweb1')" get --server ''
offers bash/fleet-list ex1,web1 --server ex1,w
offers bash/fleet-equals "$(printf 'ex1\nex2')" --server = e
offers bash/fleet-copy-to "$(printf 'ex1\nex2')" copy ABCD --from web1 --to e
offers bash/fleet-remove web1 fleet remove w
offers bash/fleet-none "" --server zz
cp "$CERTFLEET_HOME/fleet.json" "$T/other.json"
rm "$CERTFLEET_HOME/fleet.json"
offers bash/fleet-file-option "$(printf 'ex1\nex2')" --fleet "$T/other.json" --server e
offers bash/fleet-no-file "" --server e

# ---- thumbprints ------------------------------------------------------
S=$T/store
check setup/store-init cf store init "$S"
check setup/cert-a cf --store "$S" new --self-signed --subject CN=a.example --key p256
check setup/cert-b cf --store "$S" new --self-signed --subject CN=b.example --key p256
run cf --store "$S" get --fields Thumbprint --json
A=$(jq -r '.Items[0].Thumbprint' "$OUT")
B=$(jq -r '.Items[1].Thumbprint' "$OUT")
expect_eq setup/two-thumbprints "$(printf '%s\n%s' "$A" "$B" | grep -c '^[0-9A-F]\{40\}$')" 2
# The shortest prefix of A that B does not share.
i=1
while [ "$i" -lt 40 ] && [ "${A:0:i}" = "${B:0:i}" ]; do i=$((i + 1)); done
offers bash/thumbprints "$(printf '%s\n%s' "$A" "$B")" --store "$S" export ''
offers bash/thumbprint-prefix "$A" --store "$S" enable "${A:0:i}"
offers bash/thumbprint-lower-case "$A" --store "$S" remove "$(echo "${A:0:i}" | tr 'A-F' 'a-f')"
CWORD=2 offers bash/thumbprint-store-after "$B" renew "${B:0:i}" --store "$S"
offers bash/thumbprint-no-agent "" get "${A:0:i}"
CERTFLEET_STORE=$S offers bash/thumbprint-env "$A" get "${A:0:i}"
offers bash/thumbprint-one-only "" --store "$S" get "$A" ""
offers bash/thumbprint-none "" --store "$S" export ZZ
offers bash/thumbprint-missing-store "" --store "$T/missing" export ''
if [ -e "$T/missing" ]; then
	fail bash/missing-store-not-made "$T/missing was created"
else
	pass bash/missing-store-not-made
fi
offers bash/thumbprint-no-command-arg "" --store "$S" services ''

# An agent that is not there, and one that takes the connection and never
# answers: nothing, and within the callback's limit (3 s).
# (With an identity, so that certfleet does try to connect.)
check setup/id cf id
check setup/fleet-dead cf fleet add dead "127.0.0.1:9" --fingerprint "$FP"
offers bash/thumbprint-dead-agent "" --server dead get ''
PORTFILE=$T/port
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(60)
' "$PORTFILE" &
SILENT=$!
trap 'kill $SILENT 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s "$PORTFILE" ] && break; sleep 0.1; done
check setup/fleet-silent cf fleet add silent "127.0.0.1:$(cat "$PORTFILE")" --fingerprint "$FP"
start=$(date +%s)
offers bash/thumbprint-silent-agent "" --server silent export ''
took=$(($(date +%s) - start))
if [ "$took" -le 6 ]; then
	pass bash/silent-agent-bounded
else
	fail bash/silent-agent-bounded "took ${took}s"
fi
kill "$SILENT" 2>/dev/null
wait "$SILENT" 2>/dev/null

# The callback itself: quiet and empty on nonsense.
run cf __complete bogus
expect_eq callback/unknown-quiet "$RC:$(cat "$OUT" "$ERR")" "2:"
run cf --store "$S" __complete thumbprints -- "${A:0:i}"
expect_eq callback/thumbprints "$(cat "$OUT")" "$A"

# ---- zsh ----------------------------------------------------------------
# complete_zsh WORD... - what _certfleet offers in zsh, one a line,
# sorted: the completion builtins are replaced by functions that do what
# they do to PREFIX (the current word) and print what compadd would offer.
complete_zsh() {
	run zsh -fc 'compdef() { :; }
		source <("$CERTFLEET" completion zsh) || exit 9
		compadd() {
			local all=0 w
			while [ $# -gt 0 ] && [ "$1" != -- ]; do
				[ "$1" = -U ] && all=1
				shift
			done
			shift
			for w in "$@"; do
				[[ $all = 1 || $w = "$PREFIX"* ]] && printf "%s\n" "$w"
			done
		}
		compset() { [ "$1" = -P ] && PREFIX=${PREFIX##$~2}; }
		_files() { echo "(files)"; }
		words=("$CERTFLEET" "$@")
		CURRENT=$#words
		PREFIX=$words[CURRENT]
		_certfleet' complete "$@"
	sort -o "$OUT" "$OUT"
}

if ! command -v zsh >/dev/null; then
	fail zsh/installed "zsh is not installed (scripts/setup-deps.sh installs it)"
else
	# shellcheck disable=SC2016
	run env HOME="$T" zsh -fc 'autoload -Uz compinit && compinit -u -D &&
		source <("$CERTFLEET" completion zsh) &&
		[ "${_comps[certfleet]}" = _certfleet ]'
	if [ "$RC" -eq 0 ] && [ ! -s "$ERR" ]; then
		pass zsh/loads
	else
		fail zsh/loads "exit $RC"
		show "$ERR"
	fi
	# Without compinit there is no compdef: the check above can fail.
	# shellcheck disable=SC2016
	run env HOME="$T" zsh -fc 'source <("$CERTFLEET" completion zsh)'
	if grep -q compdef "$ERR"; then
		pass zsh/loads-needs-compinit
	else
		fail zsh/loads-needs-compinit "no complaint without compinit"
	fi
	complete_zsh ex
	expect_eq zsh/command "$(cat "$OUT")" export
	complete_zsh xyzzy
	expect_eq zsh/command-none "$(cat "$OUT")" ""
	complete_zsh export --bi
	expect_eq zsh/option "$(cat "$OUT")" --binary
	complete_zsh --fleet "$T/other.json" --server e
	expect_eq zsh/fleet "$(cat "$OUT")" "$(printf 'ex1\nex2')"
	complete_zsh --fleet "$T/other.json" --server=ex1,w
	expect_eq zsh/fleet-list "$(cat "$OUT")" web1
	complete_zsh --fleet "$T/other.json" --server zz
	expect_eq zsh/fleet-none "$(cat "$OUT")" ""
	complete_zsh --store "$S" export ''
	expect_eq zsh/thumbprints "$(cat "$OUT")" "$(printf '%s\n%s' "$A" "$B" | sort)"
	complete_zsh --store "$T/missing" export ''
	expect_eq zsh/thumbprints-missing-store "$(cat "$OUT")" ""
	complete_zsh import ''
	expect_eq zsh/file "$(cat "$OUT")" "(files)"
	complete_zsh revoke ABCD1234 --acme-ca-file ''
	expect_eq zsh/file-acme-ca-file "$(cat "$OUT")" "(files)"
	complete_zsh revoke ABCD1234 --account ''
	expect_eq zsh/no-file-account "$(cat "$OUT")" ""
fi

e2e_done
