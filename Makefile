# certfleet - one Makefile, pkg-config, C17.
#   make            build/certfleet and build/certfleetd
#   make test       install what is missing (apt-get), then `make check`
#   make check      strict build, unit tests (plain and sanitizer), e2e
#   make unit       build the unit test programs (build/tests/test_*;
#                   `build/tests/test_store NAME` runs one test, -l lists)
#   make e2e        every tests/e2e script; `make e2e T=copy` runs one
#   make asan       the unit tests built and run under ASan and UBSan
#                   (build/asan)
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS (60) each,
#                   then tests/e2e/vectors.sh with every PKCS#12 file and
#                   seed through the sanitizer build (VECTORS_FULL=1;
#                   make test's run takes a share); FUZZ=api runs one
#                   harness, nothing else
#   make format     clang-format src/, tests/unit and tests/fuzz in place
#   make format-check  the files that clang-format would change (exit 1)
#   make lint       functions over 80 lines without a "one piece" comment
#   make bench      the benchmarks in bench/
#   make demo       the walkthrough on a local store
#   make install    (PREFIX=/usr/local, DESTDIR=) binaries, man pages, units
#                   (the agent's; the autopilot's user units), completion,
#                   /etc/certfleet/agent.conf if absent
#   make uninstall  the same files; an edited agent.conf stays

CC      ?= cc
PKGS    := libcrypto libssl sqlite3 jansson libevent libevent_openssl libevent_pthreads inih
CFLAGS  ?= -O2 -g
WARN    := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wformat=2
WERROR  ?=
# Hardening, added whatever CFLAGS says (the sanitizer and fuzz builds
# pass their own).  _FORTIFY_SOURCE does nothing without optimisation and
# warns, so an -O0 build goes without it.
HARDEN    := $(if $(filter -O0,$(CFLAGS)),,-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2) \
             -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Only the agent filters system calls (its parser process, parser.h).
AGENT_PKGS := libseccomp
AGENT_CFLAGS := $(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_LIBS := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null)
# A section a function: the front-end (src/fast) links only what `get`
# reaches (--gc-sections), and fails to link if that reaches OpenSSL.
ALL_CFLAGS  = $(WARN) $(WERROR) $(HARDEN) $(CFLAGS) $(PKG_CFLAGS) $(AGENT_CFLAGS) -Isrc/lib -MMD -MP \
              -ffunction-sections -fdata-sections
LDLIBS      = $(PKG_LIBS) -pthread

B        ?= build
# libcurl's headers only: src/acme/curl_dl.c loads the library when a
# command first speaks to a CA, so no other command maps it at start.
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
LIB_SRC  := $(wildcard src/lib/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
FAST_SRC := $(wildcard src/fast/*.c)
AGENT_SRC := $(wildcard src/agent/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
FAST_OBJ := $(FAST_SRC:%.c=$(B)/obj/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all test check unit e2e asan fuzz bench demo clean format \
        format-check lint install uninstall
all: $(B)/certfleet $(B)/certfleet-full $(if $(AGENT_SRC),$(B)/certfleetd)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libcertfleet.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The CLI speaks to the etcd registry (cmd_registry.c) through
# libcertfleet_registry.a, and checks names by its schema (schema.h).
# It speaks ACME (cmd_acme.c, cmd_issue.c) through libcertfleet_acme.a,
# over libcurl loaded when needed (curl_dl.h), and waits for DNS-01's
# records through ldns.
$(CLI_OBJ): ALL_CFLAGS += -Isrc/registry -Isrc/acme $(CURL_CFLAGS)
$(B)/certfleet-full: $(CLI_OBJ) $(B)/libcertfleet_registry.a \
    $(B)/libcertfleet_acme.a $(B)/libcertfleet.a
	$(CC) $(CFLAGS) $(HARDEN_LD) -o $@ $(CLI_OBJ) \
	    $(B)/libcertfleet_registry.a $(B)/libcertfleet_acme.a \
	    $(B)/libcertfleet.a $(LDNS_LIBS) $(LDLIBS)

# The front-end users run as certfleet (src/fast/fast.h): `get` on a
# local store with the CLI's own code, the rest by exec of certfleet-full.
# Static (a position-independent one): loading and relocating shared
# libraries was most of a small `get`.  Linked from the CLI's objects in
# an archive, so only those `get` reaches come in.
FAST_LIBS := -lsqlite3 -ljansson -lm -pthread
$(FAST_OBJ): ALL_CFLAGS += -Isrc/cli -DCF_FULL_PATH='"$(FULLDIR)/certfleet-full"'
$(B)/libcertfleet_cli.a: $(filter-out %/main.o,$(CLI_OBJ))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(B)/certfleet: $(FAST_OBJ) $(B)/libcertfleet_cli.a $(B)/libcertfleet.a
	$(CC) $(CFLAGS) -static-pie -Wl,--gc-sections,-z,relro,-z,now -o $@ \
	    $(FAST_OBJ) $(B)/libcertfleet_cli.a $(B)/libcertfleet.a $(FAST_LIBS)

# The web console's files (console/), built into certfleetd as a C
# source (src/agent/console.h): made by a shell script, no Node.
CONSOLE_FILES := $(wildcard console/*)
CONSOLE_OBJ := $(B)/obj/$(B)/gen/console_assets.o
AGENT_OBJ += $(CONSOLE_OBJ)
$(B)/gen/console_assets.c: $(CONSOLE_FILES) scripts/console-embed.sh
	@mkdir -p $(dir $@)
	scripts/console-embed.sh $@ $(CONSOLE_FILES)
$(CONSOLE_OBJ): ALL_CFLAGS += -Isrc/agent

# The agent joins an etcd registry ([registry], src/agent/registry*.c).
# It keeps ACME account keys and signs for them (acme_acct.c) with the
# JWS of libcertfleet_acme.a: only jws.o and msg.o are pulled from it,
# so certfleetd does not link libcurl.
$(AGENT_OBJ): ALL_CFLAGS += -Isrc/registry -Isrc/acme
$(B)/certfleetd: $(AGENT_OBJ) $(B)/libcertfleet_registry.a \
    $(B)/libcertfleet_acme.a $(B)/libcertfleet.a
	$(CC) $(CFLAGS) $(HARDEN_LD) -o $@ $(AGENT_OBJ) \
	    $(B)/libcertfleet_registry.a $(B)/libcertfleet_acme.a \
	    $(B)/libcertfleet.a $(AGENT_LIBS) $(LDLIBS)

# The registry (src/registry): the etcd v3 gateway client the CLI and the
# agent link when they speak to etcd; build/cf-etcd drives it from tests.
REG_SRC  := $(filter-out src/registry/tool%,$(wildcard src/registry/*.c))
REG_OBJ  := $(REG_SRC:%.c=$(B)/obj/%.o)
all: $(B)/cf-etcd
$(B)/libcertfleet_registry.a: $(REG_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
TOOL_OBJ := $(B)/obj/src/registry/tool.o $(B)/obj/src/registry/tool_bench.o \
    $(B)/obj/src/registry/tool_sim.o $(B)/obj/src/registry/tool_sim_desire.o
$(B)/cf-etcd: $(TOOL_OBJ) $(B)/libcertfleet_registry.a $(B)/libcertfleet.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/obj/tests/unit/test_etcd_msg.o: ALL_CFLAGS += -Isrc/registry
$(B)/tests/test_etcd_msg: $(B)/obj/tests/unit/test_etcd_msg.o \
    $(B)/obj/tests/unit/check.o $(B)/libcertfleet_registry.a $(B)/libcertfleet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/tests/unit/test_registry_schema.o: ALL_CFLAGS += -Isrc/registry
$(B)/tests/test_registry_schema: $(B)/obj/tests/unit/test_registry_schema.o \
    $(B)/obj/tests/unit/check.o $(B)/libcertfleet_registry.a $(B)/libcertfleet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/tests/unit/test_reconcile.o: ALL_CFLAGS += -Isrc/registry
$(B)/tests/test_reconcile: $(B)/obj/tests/unit/test_reconcile.o \
    $(B)/obj/tests/unit/check.o $(B)/libcertfleet_registry.a $(B)/libcertfleet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The ACME core (src/acme): JWS, the CA's messages, the HTTPS transport
# over libcurl and the client's flows, in libcertfleet_acme.a;
# build/cf-acme drives it from tests (tests/e2e/acme-core.sh).
ACME_SRC := $(filter-out src/acme/tool%,$(wildcard src/acme/*.c))
ACME_OBJ := $(ACME_SRC:%.c=$(B)/obj/%.o)
all: $(B)/cf-acme
ACME_TOOL_OBJ := $(B)/obj/src/acme/tool.o $(B)/obj/src/acme/tool_order.o \
    $(B)/obj/src/acme/tool_dns01.o
# DNS-01's record (src/acme/dns01.c) is read back through ldns.
LDNS_LIBS := $(shell pkg-config --libs ldns 2>/dev/null || echo -lldns)
$(ACME_OBJ) $(ACME_TOOL_OBJ): ALL_CFLAGS += $(CURL_CFLAGS)
$(B)/libcertfleet_acme.a: $(ACME_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(B)/cf-acme: $(ACME_TOOL_OBJ) $(B)/libcertfleet_acme.a $(B)/libcertfleet.a
	$(CC) $(CFLAGS) $(HARDEN_LD) -o $@ $^ $(LDNS_LIBS) $(LDLIBS)
$(B)/obj/tests/unit/test_acme_%.o: ALL_CFLAGS += -Isrc/acme
$(B)/tests/test_acme_%: $(B)/obj/tests/unit/test_acme_%.o \
    $(B)/obj/tests/unit/check.o $(B)/libcertfleet_acme.a $(B)/libcertfleet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(HARDEN_LD) -o $@ $^ $(LDLIBS)

UNIT_AUX := $(B)/obj/tests/unit/check.o $(B)/obj/tests/unit/testpki.o
# The operation tests share their store and its reads (opstest.h).
OPS_TESTS := $(B)/tests/test_ops $(B)/tests/test_rollout
$(OPS_TESTS): UNIT_EXTRA := $(B)/obj/tests/unit/opstest.o
$(OPS_TESTS): $(B)/obj/tests/unit/opstest.o
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(UNIT_AUX) $(B)/libcertfleet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(HARDEN_LD) -o $@ $< $(UNIT_EXTRA) $(UNIT_AUX) \
	    $(B)/libcertfleet.a $(LDLIBS)

# test_csrf checks the console's tokens (src/agent/csrf.c).
$(B)/obj/tests/unit/test_csrf.o: ALL_CFLAGS += -Isrc/agent
$(B)/tests/test_csrf: UNIT_AUX += $(B)/obj/src/agent/csrf.o
$(B)/tests/test_csrf: $(B)/obj/src/agent/csrf.o

# test_agent_registry_config reads the agent's [registry] section.
AGENT_CONFIG_OBJ := $(B)/obj/src/agent/config.o $(B)/obj/src/agent/config_keys.o \
    $(B)/obj/src/agent/config_trust.o $(B)/obj/src/agent/config_registry.o \
    $(B)/obj/src/agent/config_console.o \
    $(B)/obj/src/agent/listen.o $(B)/libcertfleet_registry.a
$(B)/obj/tests/unit/test_agent_registry_config.o: ALL_CFLAGS += -Isrc/agent -Isrc/registry
$(B)/tests/test_agent_registry_config: UNIT_AUX += $(AGENT_CONFIG_OBJ)
$(B)/tests/test_agent_registry_config: $(AGENT_CONFIG_OBJ)

# test_console_peers reads the agent's console_peers key.
$(B)/obj/tests/unit/test_console_peers.o: ALL_CFLAGS += -Isrc/agent -Isrc/registry
$(B)/tests/test_console_peers: UNIT_AUX += $(AGENT_CONFIG_OBJ)
$(B)/tests/test_console_peers: $(AGENT_CONFIG_OBJ)

# test_api also checks the agent's route table (src/agent/routes.c).
$(B)/tests/test_api: UNIT_AUX += $(B)/obj/src/agent/routes.o
$(B)/tests/test_api: $(B)/obj/src/agent/routes.o

unit: $(UNIT_BIN)
# The test objects are intermediates of the rule above; kept, so that a
# second `make unit` has nothing to do.
.PRECIOUS: $(B)/obj/%.o

# The sanitizer build of the unit tests (scripts/run-tests.sh links the
# CLI from it with the same flags).
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined

# `make test` and `make demo` build with a job per core, unless make was
# given -j (then MAKEFLAGS holds it, and its jobserver serves).
NPROC := $(shell nproc 2>/dev/null || echo 1)
JOBS   = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))

# The one test command: set-up, then everything `check` runs (the builds
# in parallel; the tests one after the other, as ever).
test:
	scripts/setup-deps.sh
	$(MAKE) --no-print-directory $(JOBS) check

# Layout (clang-format, no long function without its reason), strict
# build, unit tests plain and under the sanitizers, end-to-end; no
# package installation.
check:
	$(MAKE) --no-print-directory format-check lint
	$(MAKE) --no-print-directory WERROR=-Werror all unit
	$(MAKE) --no-print-directory B=build/asan WERROR=-Werror \
	    CFLAGS="$(ASAN_CFLAGS)" unit
	scripts/run-tests.sh

# T=name runs tests/e2e/name.sh alone.
T ?=
e2e: all
	scripts/run-tests.sh $(if $(T),$(T:%=tests/e2e/%.sh),e2e)

asan:
	$(MAKE) --no-print-directory B=build/asan WERROR=-Werror \
	    CFLAGS="$(ASAN_CFLAGS)" unit
	scripts/run-tests.sh build/asan/tests/test_*

bench: all
	bench/run.sh
	bench/copy_run.sh
	bench/test_run.sh
	bench/keygen_run.sh
	bench/rollout_run.sh
	bench/metrics_run.sh
	bench/store10k.sh
	bench/converge.sh

# Then the web console of an agent, as headless chromium shows it
# (tests/e2e/console.sh): screenshots in $(B)/console/*.png.
demo:
	scripts/setup-deps.sh
	$(MAKE) --no-print-directory $(JOBS) all
	scripts/demo.sh
	@mkdir -p $(B)/console
	@echo "demo: the web console, in headless chromium ($(B)/console/console.log)"
	@CONSOLE_SHOTS=$(CURDIR)/$(B)/console CERTFLEET=$(CURDIR)/$(B)/certfleet \
	    CERTFLEETD=$(CURDIR)/$(B)/certfleetd bash tests/e2e/console.sh \
	    >$(B)/console/console.log 2>&1 || { tail -n 20 $(B)/console/console.log; exit 1; }
	@ls $(B)/console/*.png

# Installation.  certfleetd reads /etc/certfleet/agent.conf whatever the
# prefix, so the configuration goes to SYSCONFDIR, not under PREFIX.
# Debian's debhelper wants units in /lib/systemd/system (debian/rules
# says so); systemd also reads $(PREFIX)/lib/systemd/system for /usr/local.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
# The full certfleet, which the certfleet in BINDIR (src/fast) runs.
FULLDIR    ?= $(PREFIX)/lib/certfleet
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# The autopilot's units run as the admin: systemd's user units.
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
AUTOPILOT_UNITS := certfleet-autopilot.service certfleet-autopilot.timer
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
INSTALL    ?= install
CONF       := $(DESTDIR)$(SYSCONFDIR)/certfleet/agent.conf
# The example configuration as an installed file: the values the example
# marks "; example" (a name, say) are commented out, the defaults stay.
CONF_SED   := '/; *example$$/s/^/\#/'

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 755 $(B)/certfleet $(DESTDIR)$(BINDIR)/certfleet
	$(INSTALL) -D -m 755 $(B)/certfleet-full $(DESTDIR)$(FULLDIR)/certfleet-full
	$(INSTALL) -m 755 $(B)/certfleetd $(DESTDIR)$(SBINDIR)/certfleetd
	$(INSTALL) -m 644 docs/certfleet.1 $(DESTDIR)$(MANDIR)/man1/certfleet.1
	$(INSTALL) -m 644 docs/certfleetd.8 $(DESTDIR)$(MANDIR)/man8/certfleetd.8
	sed 's#/usr/sbin/certfleetd#$(SBINDIR)/certfleetd#g' packaging/certfleetd.service >$(B)/certfleetd.service
	$(INSTALL) -m 644 $(B)/certfleetd.service $(DESTDIR)$(UNITDIR)/certfleetd.service
	$(INSTALL) -d $(DESTDIR)$(USERUNITDIR)
	sed 's#/usr/bin/certfleet#$(BINDIR)/certfleet#g' packaging/systemd/certfleet-autopilot.service >$(B)/certfleet-autopilot.service
	$(INSTALL) -m 644 $(B)/certfleet-autopilot.service packaging/systemd/certfleet-autopilot.timer \
	    $(DESTDIR)$(USERUNITDIR)/
	@# Completion scripts come from the CLI itself; one without the
	@# command installs everything else.
	@if $(B)/certfleet completion bash >$(B)/completion.bash 2>/dev/null; then \
	    echo "$(INSTALL) -D -m 644 (certfleet completion bash) $(DESTDIR)$(BASHCOMPDIR)/certfleet"; \
	    $(INSTALL) -D -m 644 $(B)/completion.bash $(DESTDIR)$(BASHCOMPDIR)/certfleet; \
	else echo "make install: warning: '$(B)/certfleet completion bash' failed: no bash completion installed" >&2; fi
	@if $(B)/certfleet completion zsh >$(B)/completion.zsh 2>/dev/null; then \
	    echo "$(INSTALL) -D -m 644 (certfleet completion zsh) $(DESTDIR)$(ZSHCOMPDIR)/_certfleet"; \
	    $(INSTALL) -D -m 644 $(B)/completion.zsh $(DESTDIR)$(ZSHCOMPDIR)/_certfleet; \
	else echo "make install: warning: '$(B)/certfleet completion zsh' failed: no zsh completion installed" >&2; fi
	@if [ -e $(CONF) ]; then \
	    echo "make install: $(CONF) exists: kept as it is"; \
	else \
	    echo "$(INSTALL) -D -m 644 docs/agent.conf.example $(CONF)"; \
	    sed $(CONF_SED) docs/agent.conf.example >$(B)/agent.conf && \
	    $(INSTALL) -D -m 644 $(B)/agent.conf $(CONF); \
	fi

# Removes what install put there.  agent.conf goes only while it is the
# example as installed: an edited one is the administrator's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/certfleet $(DESTDIR)$(SBINDIR)/certfleetd \
	    $(DESTDIR)$(FULLDIR)/certfleet-full \
	    $(DESTDIR)$(MANDIR)/man1/certfleet.1 $(DESTDIR)$(MANDIR)/man8/certfleetd.8 \
	    $(DESTDIR)$(UNITDIR)/certfleetd.service \
	    $(AUTOPILOT_UNITS:%=$(DESTDIR)$(USERUNITDIR)/%) \
	    $(DESTDIR)$(BASHCOMPDIR)/certfleet $(DESTDIR)$(ZSHCOMPDIR)/_certfleet
	@if [ -e $(CONF) ]; then \
	    if sed $(CONF_SED) docs/agent.conf.example | cmp -s - $(CONF); then \
	        echo "rm -f $(CONF)"; rm -f $(CONF); \
	        rmdir $(DESTDIR)$(SYSCONFDIR)/certfleet 2>/dev/null || true; \
	    else echo "make uninstall: $(CONF) was edited: kept"; fi; \
	fi

# libFuzzer over every parser of outside bytes (tests/fuzz/fuzz_*.c),
# with ASan and UBSan, into build/fuzz: FUZZ_SECONDS each, stopping at the
# first finding (its reproducer named); FUZZ=api (or several names) runs
# those only.  Needs clang.
# Without FUZZ, then the corpus and seeds of tests/vectors, all of them,
# through the sanitizer build of the CLI (tests/e2e/vectors.sh; `make
# test` puts a share of them through it).
FUZZ_SECONDS ?= 60
FUZZ ?=
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ)
ifeq ($(FUZZ),)
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory B=build/asan CFLAGS="$(ASAN_CFLAGS)" \
	    build/asan/certfleet
	VECTORS_FULL=1 scripts/run-tests.sh tests/e2e/vectors.sh
endif

# The C files clang-format owns (.clang-format at the top).
FORMAT_FILES = $(wildcard src/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@bad=; for f in $(FORMAT_FILES); do \
	    clang-format --dry-run -Werror $$f >/dev/null 2>&1 || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then \
	    echo "make format-check: not formatted (make format):$$bad" | fold -s >&2; \
	    exit 1; \
	fi

lint:
	scripts/long-functions.py src

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
