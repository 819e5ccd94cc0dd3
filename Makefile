# certfleet - one Makefile, pkg-config, C17.
#   make            build/certfleet and build/certfleetd
#   make test       install what is missing, build, run every test
#   make bench      the benchmarks in bench/
#   make demo       the walkthrough on a local store

CC      ?= cc
PKGS    := libcrypto libssl sqlite3 jansson libevent libevent_openssl libevent_pthreads inih
CFLAGS  ?= -O2 -g
WARN    := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
WERROR  ?=
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(WARN) $(WERROR) $(CFLAGS) $(PKG_CFLAGS) -Isrc/lib -MMD -MP
LDLIBS      = $(PKG_LIBS) -pthread

B        ?= build
LIB_SRC  := $(wildcard src/lib/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
AGENT_SRC := $(wildcard src/agent/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all test unit e2e asan bench demo clean format
all: $(B)/certfleet $(if $(AGENT_SRC),$(B)/certfleetd)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libcertfleet.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/certfleet: $(CLI_OBJ) $(B)/libcertfleet.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(B)/libcertfleet.a $(LDLIBS)

$(B)/certfleetd: $(AGENT_OBJ) $(B)/libcertfleet.a
	$(CC) $(CFLAGS) -o $@ $(AGENT_OBJ) $(B)/libcertfleet.a $(LDLIBS)

UNIT_AUX := $(B)/obj/tests/unit/check.o $(B)/obj/tests/unit/testpki.o
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(UNIT_AUX) $(B)/libcertfleet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_AUX) $(B)/libcertfleet.a $(LDLIBS)

unit: $(UNIT_BIN)

# The one test command: set-up, strict build, unit, end-to-end, sanitizers.
test:
	scripts/setup-deps.sh
	$(MAKE) --no-print-directory WERROR=-Werror all unit
	$(MAKE) --no-print-directory B=build/asan WERROR=-Werror \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit
	scripts/run-tests.sh

bench: all
	bench/run.sh
	bench/copy_run.sh
	bench/test_run.sh

demo:
	scripts/setup-deps.sh
	$(MAKE) --no-print-directory all
	scripts/demo.sh

format:
	clang-format -i src/*/*.[ch] tests/unit/*.[ch]

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
