# causerie - build, run, test and install.
#
# One set of rules builds into $(BUILD): build/ (normal), build-asan/ (AddressSanitizer +
# UndefinedBehaviorSanitizer) and build-tsan/ (ThreadSanitizer) are the same tree compiled
# with other flags. Each program's modules go into a static archive so unit tests link
# exactly the modules they use. scripts/deps.sh installs what a target needs first.

VERSION   := 0.1.0
CC        ?= cc
BUILD     ?= build
SAN       ?=
PREFIX    ?= /usr/local
DESTDIR   ?=
PYTHON    ?= /usr/bin/python3
PYTEST    := $(PYTHON) -m pytest -q -p no:cacheprovider

WARNINGS  := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L $(WARNINGS) -Werror -MMD -MP \
             -DCAUSERIE_VERSION='"$(VERSION)"' -Isrc $(CFLAGS) $(SAN_FLAGS) \
             $(shell pkg-config --cflags libuv 2>/dev/null)
LDLIBS_UV  = $(shell pkg-config --libs libuv 2>/dev/null) -lpthread
LDLIBS_RL  = $(shell pkg-config --libs readline 2>/dev/null || echo -lreadline)

ifeq ($(SAN),asan)
SAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(SAN),tsan)
SAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=thread
endif

COMMON_SRC := $(wildcard src/common/*.c)
SERVER_SRC := $(filter-out src/server/main.c,$(wildcard src/server/*.c))
CLIENT_SRC := $(filter-out src/client/main.c,$(wildcard src/client/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBCOMMON := $(BUILD)/libcommon.a
LIBSERVER := $(BUILD)/libserver.a
LIBCLIENT := $(BUILD)/libclient.a
SERVER    := $(BUILD)/causerie-server
CLIENT    := $(BUILD)/causerie
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all run test unit e2e fuzz bench bench-smoke bench-peers deps deps-test install uninstall format format-check clean
.DEFAULT_GOAL := all

all: deps $(SERVER) $(CLIENT)

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBSERVER): $(call obj,$(SERVER_SRC))
$(LIBCLIENT): $(call obj,$(CLIENT_SRC))
$(BUILD)/%.a:
	@rm -f $@
	$(AR) rcs $@ $^

$(SERVER): $(call obj,src/server/main.c) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_UV)

$(CLIENT): $(call obj,src/client/main.c) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_RL) $(LDLIBS_UV)

# A unit test links one program's modules: test_client_* the client's, the rest the server's
# (both programs have an options module). Make picks the rule with the shorter stem.
$(BUILD)/tests/test_client_%: $(call obj,tests/unit/test_client_%.c) $(LIBCLIENT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_RL) $(LDLIBS_UV)

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(LIBSERVER) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_UV)

# The server, interactive: it asks for the address to listen on.
run: all
	$(SERVER)

unit: deps-test $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done

e2e: deps-test $(SERVER) $(CLIENT)
	CAUSERIE_BUILD=$(BUILD) $(PYTEST) tests/e2e $(PYTEST_ARGS)

# Every suite, three times over: plain, under ASan+UBSan, and the server's concurrency
# tests under TSan. The last line printed is pytest's summary of the TSan run.
test: deps-test
	$(MAKE) --no-print-directory BUILD=build unit e2e bench-smoke
	$(MAKE) --no-print-directory BUILD=build-asan SAN=asan unit e2e
	$(MAKE) --no-print-directory BUILD=build-tsan SAN=tsan e2e PYTEST_ARGS='-m concurrency'

BENCH := $(BUILD)/causerie-bench
$(BENCH): $(call obj,bench/bench.c) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_UV)

# The benchmark: every preset against a server started for it (bench/run.sh). Speed is
# reported, never asserted; lost, duplicated and reordered messages fail the run.
bench: deps $(SERVER) $(BENCH)
	bench/run.sh $(BUILD) $(BENCH_ARGS)

# The same workloads against Redis pub/sub, NATS and ngIRCd, in one run; the table and two
# SVG plots go to bench/results/. Installs the peers and gnuplot from Debian's packages
# when missing.
bench-peers: $(SERVER) $(BENCH)
	@scripts/deps.sh peers
	bench/peers.sh $(BUILD)

# A few seconds of the same, small sizes: part of `make test`, for correctness only.
bench-smoke: deps $(SERVER) $(BENCH)
	bench/run.sh --smoke $(BUILD)

# libFuzzer harnesses (clang, Debian's libclang-rt-14-dev). New inputs found go to
# build-fuzz/corpus/; the seeds in tests/fuzz/corpus/ are only read.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZERS      := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS   = -std=c17 -D_POSIX_C_SOURCE=200809L -g -O1 -Isrc \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                $(shell pkg-config --cflags libuv 2>/dev/null)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS_UV)

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do \
	    name=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/corpus/$$name; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        build-fuzz/corpus/$$name tests/fuzz/corpus/$$name; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(SERVER) $(CLIENT) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/causerie.1 man/causerie-server.1 $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/causerie $(DESTDIR)$(PREFIX)/bin/causerie-server
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/causerie.1 $(DESTDIR)$(PREFIX)/share/man/man1/causerie-server.1

FORMAT_FILES = $(wildcard src/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] bench/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
