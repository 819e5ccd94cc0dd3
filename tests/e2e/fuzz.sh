#!/usr/bin/env bash
# fuzz.sh - a short libFuzzer run over cf_bundle_parse, the parser of
# every certificate file from outside, seeded with the PKCS#12 corpus and
# OpenSSL's seeds.  A crash, leak, sanitizer report or hang fails it.
# CF_FUZZ_SECONDS sets the length (default 45).
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
