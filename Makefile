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
# OpenSSL 3 (libssl-dev): TLS in both programs, in src/server/tls.c and src/client/tls.c.
CFLAGS_SSL = $(shell pkg-config --cflags openssl 2>/dev/null)
LDLIBS_SSL = $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
# The server's libraries at the edges: OpenSSL, wslay (WebSocket framing), http-parser
# (HTTP requests), none of which Debian gives a pkg-config file for but OpenSSL; SQLite
# (the store, src/server/store_sqlite.c) and libsodium.
LDLIBS_SQL = $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
# libsodium: Argon2id for passwords (src/server/password.c).
LDLIBS_NA  = $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)
# nats.c (libnats-dev): the cluster's engine client, NATS JetStream (src/server/cluster.c).
LDLIBS_NATS = $(shell pkg-config --libs libnats 2>/dev/null || echo -lnats)
LDLIBS_SRV = $(LDLIBS_SSL) -lwslay -lhttp_parser $(LDLIBS_SQL) $(LDLIBS_NA) $(LDLIBS_NATS)

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

# Keep every file a rule made: the unit tests' objects would otherwise be deleted as
# intermediates, and make would print that after the test runner's summary.
.SECONDARY:

.PHONY: all run run-cluster test layers unit web-unit browser-deps e2e fuzz fuzz-smoke soak soak-smoke soak-cluster-smoke bench bench-smoke bench-peers bench-engine deps deps-test install uninstall format format-check clean
.DEFAULT_GOAL := all

all: deps $(SERVER) $(CLIENT)

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# deps first (order only), even under make -j: on a fresh machine the headers come with
# the packages it installs.
$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The web page's files, compiled into the server (scripts/embed-web.sh, src/server/assets.h).
WEB_FILES  := $(sort $(wildcard web/*.html web/*.css web/*.js web/*.svg web/*.png))
ASSETS_C   := $(BUILD)/gen/assets_data.c
ASSETS_OBJ := $(BUILD)/obj/gen/assets_data.o
$(ASSETS_C): $(WEB_FILES) scripts/embed-web.sh | deps
	@mkdir -p $(dir $@)
	scripts/embed-web.sh $@ $(WEB_FILES)
$(ASSETS_OBJ): $(ASSETS_C)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBSERVER): $(call obj,$(SERVER_SRC)) $(ASSETS_OBJ)
$(LIBCLIENT): $(call obj,$(CLIENT_SRC))
$(BUILD)/%.a:
	@rm -f $@
	$(AR) rcs $@ $^

$(SERVER): $(call obj,src/server/main.c) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_SRV) $(LDLIBS_UV)

$(CLIENT): $(call obj,src/client/main.c) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_RL) $(LDLIBS_SSL) $(LDLIBS_UV)

$(call obj,src/client/tls.c src/server/tls.c tests/unit/test_client_tls.c bench/bench.c): \
    ALL_CFLAGS += $(CFLAGS_SSL)

# A unit test links one program's modules: test_client_* the client's, the rest the server's
# (both programs have an options module). Make picks the rule with the shorter stem.
$(BUILD)/tests/test_client_%: $(call obj,tests/unit/test_client_%.c) $(LIBCLIENT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_RL) $(LDLIBS_SSL) $(LDLIBS_UV)

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(LIBSERVER) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_SRV) $(LDLIBS_UV)

# The server, interactive: it asks for the address to listen on.
run: all
	$(SERVER)

# Three NATS JetStream engines and three causerie servers on loopback (scripts/cluster.sh).
run-cluster: all deps-test
	scripts/cluster.sh $(SERVER)

unit: deps-test $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done

# The web page's pure modules (web/*.js), with Node's own test runner and no npm package:
# tests/web/*.test.mjs. colour_tool prints the terminal client's colour for each pseudo it
# is given, so that the page's hash is checked against the C code itself.
COLOUR_TOOL := $(BUILD)/tests/colour_tool
$(COLOUR_TOOL): $(call obj,tests/web/colour_tool.c) $(LIBCLIENT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_RL) $(LDLIBS_SSL) $(LDLIBS_UV)

web-unit: deps-test $(COLOUR_TOOL)
	CAUSERIE_COLOUR_TOOL=$(COLOUR_TOOL) node --test --test-reporter=spec tests/web/

# playwright-core, which drives Debian's chromium in the browser tests (tests/browser/,
# tests/e2e/test_browser.py): npm ci from the lock file when node_modules is missing or
# older than the lock file. Without it the page would go untested in a browser, so a
# failed npm ci stops the run and says why.
BROWSER_STAMP := tests/browser/node_modules/.package-lock.json
browser-deps: deps-test
	@if [ ! -e $(BROWSER_STAMP) ] || [ tests/browser/package-lock.json -nt $(BROWSER_STAMP) ]; then \
	    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) || { \
	    echo "npm ci a échoué dans tests/browser (registre npm injoignable ?) : sans playwright-core, la page ne peut pas être testée dans Chromium." >&2; exit 1; }; \
	fi

e2e: deps-test browser-deps $(SERVER) $(CLIENT)
	CAUSERIE_BUILD=$(BUILD) $(PYTEST) tests/e2e $(PYTEST_ARGS)

# Every suite, three times over: plain, under ASan+UBSan, and under TSan; plus the bench
# smoke run, a short chaos soak (one server, then a cluster of three) and a short fuzz of
# each parser, after a check that the
# layers call only downward (docs/ARCHITECTURE.md) and that the sources are formatted
# (clang-format, .clang-format) and the web page's unit tests. The last line printed is
# pytest's summary of the TSan run.
test: deps-test
	$(MAKE) --no-print-directory layers format-check web-unit
	$(MAKE) --no-print-directory BUILD=build unit e2e bench-smoke soak-smoke soak-cluster-smoke \
	    fuzz-smoke
	$(MAKE) --no-print-directory BUILD=build-asan SAN=asan unit e2e
	$(MAKE) --no-print-directory BUILD=build-tsan SAN=tsan unit e2e

# Who may call whom: the tables of docs/ARCHITECTURE.md, checked against every #include and,
# once the programs are built, every symbol one module takes from another; then the
# checker's own tests (tests/tools/), which break copies of the tree on purpose.
layers: deps-test $(SERVER) $(CLIENT)
	@$(PYTHON) scripts/check-layers.py --objects $(BUILD)/obj/src
	@$(PYTEST) tests/tools

BENCH := $(BUILD)/causerie-bench
$(BENCH): $(call obj,bench/bench.c) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_SSL) $(LDLIBS_UV)

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

# The cluster's engine alone, before causerie is built on it (bench/engine.sh): NATS
# JetStream in the layouts, storages and replica counts the design chooses between, on
# nats-server processes started for it on loopback (single node, then a 3-node cluster).
# The probe links nats.c and pthread only; nothing of causerie's is measured here.
ENGINE_BENCH := $(BUILD)/causerie-engine-bench
$(ENGINE_BENCH): $(call obj,bench/engine.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_NATS) -lpthread

bench-engine: deps $(ENGINE_BENCH)
	@scripts/deps.sh engine
	bench/engine.sh $(BUILD)

# A few seconds of the same, small sizes: part of `make test`, for correctness only.
bench-smoke: deps $(SERVER) $(BENCH)
	bench/run.sh --smoke $(BUILD)

# libFuzzer harnesses (clang, Debian's libclang-rt-14-dev), one per parser:
# tests/fuzz/fuzz_NAME.c, built against the common modules (and the pure server module it
# tests, named below), with its seeds in tests/fuzz/corpus/NAME/. `make fuzz` runs each
# for FUZZ_SECONDS (tests/fuzz/run.sh: one line of figures each, the log in
# build-fuzz/NAME.log); new inputs found go to
# build-fuzz/corpus/NAME/, the seeds are only read. A crash fails the run and leaves its
# input in build-fuzz/NAME-crash-*.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZERS      := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS   = -std=c17 -D_POSIX_C_SOURCE=200809L $(WARNINGS) -Werror \
                -g -O1 -Isrc \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                $(shell pkg-config --cflags libuv 2>/dev/null)

# deps-test first (order only): it says which package is missing before clang fails.
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(wildcard src/common/*.h) | deps-test
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_LDLIBS) $(LDLIBS_UV)

# A harness for a pure server module names that module here; its sources join $^ above,
# and the library the module wraps, if any, goes in FUZZ_LDLIBS for that harness alone.
build-fuzz/fuzz_http: src/server/http.c src/server/http.h
build-fuzz/fuzz_http: FUZZ_LDLIBS = -lhttp_parser
build-fuzz/fuzz_ws: src/server/ws.c src/server/ws.h
build-fuzz/fuzz_ws: FUZZ_LDLIBS = -lwslay
build-fuzz/fuzz_ws: tests/fuzz/fuzz_ws.ignorelist
build-fuzz/fuzz_ws: FUZZ_CFLAGS += -fsanitize-coverage-ignorelist=tests/fuzz/fuzz_ws.ignorelist
build-fuzz/fuzz_render: src/server/render.c src/server/render.h src/server/event.c \
                       src/server/event.h src/server/msg.c src/server/msg.h
build-fuzz/fuzz_wire: src/server/wire.c src/server/wire.h src/server/render.c \
                     src/server/render.h src/server/event.c src/server/event.h \
                     src/server/msg.c src/server/msg.h
# The same for the client's pure modules that read server lines.
build-fuzz/fuzz_server_line: src/client/roster.c src/client/roster.h src/client/style.c \
                             src/client/style.h
# And for the one that reads keys: the answer to a secret prompt.
build-fuzz/fuzz_secret: src/client/secret.c src/client/secret.h
# And for the one that reads what the user gives for an address: --host's list.
build-fuzz/fuzz_hosts: src/client/hosts.c src/client/hosts.h
# And for the IRC listener's: one line of the IRC client protocol.
build-fuzz/fuzz_irc: src/server/irc_parse.c src/server/irc_parse.h

fuzz: deps-test $(FUZZERS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

# A short run of every fuzzer from its seed corpus: part of `make test`.
FUZZ_SMOKE_SECONDS ?= 10
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

# The chaos soak (tests/soak/soak.py): hundreds of well-behaved and hostile clients against
# one server for a bounded time, over plain TCP, TLS and WebSocket over TLS (its certificates
# made with the openssl command), then the invariants are checked. `make soak` runs it for
# SOAK_SECONDS; `make soak CLUSTER=1`, against three servers joined through one nats-server
# that the soak starts (--cluster 3). `make test` runs a short one of each, the cluster's
# shorter and with fewer clients (three servers and the engine share the machine).
SOAK_SECONDS               ?= 300
SOAK_SMOKE_SECONDS         ?= 20
SOAK_CLUSTER_SMOKE_SECONDS ?= 10
SOAK_CLUSTER_SMOKE_CLIENTS ?= 90
SOAK_CLUSTER_ARGS           = $(if $(filter 1,$(CLUSTER)),--cluster 3)
soak: deps-test $(SERVER)
	$(PYTHON) tests/soak/soak.py --server $(SERVER) --seconds $(SOAK_SECONDS) $(SOAK_CLUSTER_ARGS)

soak-smoke: deps-test $(SERVER)
	$(PYTHON) tests/soak/soak.py --server $(SERVER) --seconds $(SOAK_SMOKE_SECONDS)

soak-cluster-smoke: deps-test $(SERVER)
	$(PYTHON) tests/soak/soak.py --server $(SERVER) --seconds $(SOAK_CLUSTER_SMOKE_SECONDS) \
	    --clients $(SOAK_CLUSTER_SMOKE_CLIENTS) --cluster 3

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(SERVER) $(CLIENT) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/causerie.1 man/causerie-server.1 $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/causerie $(DESTDIR)$(PREFIX)/bin/causerie-server
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/causerie.1 $(DESTDIR)$(PREFIX)/share/man/man1/causerie-server.1

FORMAT_FILES = $(wildcard src/*/*.[ch] tests/unit/*.[ch] tests/web/*.[ch] tests/fuzz/*.[ch] bench/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files formatted"

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
