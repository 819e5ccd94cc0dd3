#!/usr/bin/env bash
# fuzz.sh - short libFuzzer runs: over cf_bundle_parse, the parser of
# every certificate file from outside, seeded with the PKCS#12 corpus and
# OpenSSL's seeds (CF_FUZZ_SECONDS, default 45); and over what servers
# send cf_probe_run (CF_FUZZ_PROBE_SECONDS, default 20).  A crash, leak,
# sanitizer report or hang fails it.
set -u
cd "$(dirname "$0")/../.."
secs=${CF_FUZZ_SECONDS:-45}
out=build/fuzz
mkdir -p "$out"
if ! command -v clang >/dev/null; then
	echo "FAIL fuzz: clang is not installed (scripts/setup-deps.sh installs it)"
	exit 1
fi
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE \
	-Isrc/lib src/lib/error.c src/lib/util.c src/lib/bundle.c src/lib/pkcs12.c \
	tests/fuzz/fuzz_bundle.c $(pkg-config --libs libcrypto) -o "$out/fuzz_bundle" \
	2>"$out/build.log"; then
	echo "FAIL fuzz: the harness does not build: $(head -c 300 "$out/build.log")"
	exit 1
fi
echo "PASS fuzz: harness builds with libFuzzer, ASan and UBSan"

corpus=$(mktemp -d /tmp/cf-fuzz.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
find tests/vectors/pkcs12 -type f \( -name '*.p12' -o -name '*.pfx' -o -name '*.pem' -o -name '*.jks' \) \
	-exec cp {} "$corpus/" \;
cp tests/vectors/fuzz-seeds/openssl-fuzz-corpora/pem/* "$corpus/" 2>/dev/null
ls tests/vectors/fuzz-seeds/openssl-fuzz-corpora/x509 | head -200 |
	sed 's|^|tests/vectors/fuzz-seeds/openssl-fuzz-corpora/x509/|' | xargs cp -t "$corpus/"

log="$out/fuzz.log"
if "$out/fuzz_bundle" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 -artifact_prefix="$out/" \
	-print_final_stats=1 "$corpus" >"$log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	echo "PASS fuzz: ${secs}s of cf_bundle_parse, ${runs:-?} inputs, no crash, leak or hang"
else
	echo "FAIL fuzz: libFuzzer found a problem: $(grep -m1 -E 'ERROR|SUMMARY|timeout' "$log")"
	ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* 2>/dev/null | sed 's/^/  reproducer: /'
	exit 1
fi

# The bytes servers send a probe: STARTTLS dialogues and TLS, from a
# loopback server thread the harness runs.  CF_FUZZ_PROBE_SECONDS (20).
psecs=${CF_FUZZ_PROBE_SECONDS:-20}
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE \
	-Isrc/lib src/lib/error.c src/lib/util.c src/lib/cert.c src/lib/probe.c \
	tests/fuzz/fuzz_probe.c $(pkg-config --libs libcrypto libssl) -lpthread \
	-o "$out/fuzz_probe" 2>"$out/build-probe.log"; then
	echo "FAIL fuzz: the probe harness does not build: $(head -c 300 "$out/build-probe.log")"
	exit 1
fi
echo "PASS fuzz: probe harness builds with libFuzzer, ASan and UBSan"
pcorpus=$corpus/probe
mkdir -p "$pcorpus"
printf '\001220 mail ESMTP\r\n250-mail\r\n250 STARTTLS\r\n220 go ahead\r\n' >"$pcorpus/smtp"
printf '\001220-mail\r\n220 ESMTP\r\n250 x\r\n454 4.7.0 TLS not available\r\n' >"$pcorpus/smtp-454"
printf '\002* OK ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK begin\r\n' >"$pcorpus/imap"
printf '\003+OK ready\r\n+OK begin TLS\r\n' >"$pcorpus/pop"
printf '\000\026\003\003\000\061\002\000\000\055\003\003' >"$pcorpus/tls"
plog="$out/fuzz-probe.log"
if "$out/fuzz_probe" -max_total_time="$psecs" -timeout=20 -rss_limit_mb=2048 \
	-artifact_prefix="$out/probe-" -print_final_stats=1 "$pcorpus" >"$plog" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$plog" | grep -o '[0-9]*$')
	echo "PASS fuzz: ${psecs}s of server replies to cf_probe_run, ${runs:-?} inputs, no crash, leak or hang"
else
	echo "FAIL fuzz: libFuzzer found a problem in the probe: $(grep -m1 -E 'ERROR|SUMMARY|timeout' "$plog")"
	ls "$out"/probe-crash-* "$out"/probe-leak-* "$out"/probe-timeout-* 2>/dev/null | sed 's/^/  reproducer: /'
	exit 1
fi
