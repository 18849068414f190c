# mod_rai_embed — build with apxs, test against a real httpd.
#
#   make            build .libs/mod_rai_embed.so
#   make install    install it (and, on Debian, its .load/.conf); DESTDIR= works
#   make uninstall  remove what make install installed
#   make deb        build the Debian package into build/deb/
#   make test       install what is missing, build, run every test
#   make demo       install what is missing, build, start a demo httpd
#   make bench      print the benchmark figures
#   make test-package  build the package, install it into a fresh Debian 12
#                   root (debootstrap), and check it there

APXS      ?= apxs
PYTHON    ?= /usr/bin/python3
PORT      ?= 8080
# PHP cannot run under ASan (its extensions are dlopen()ed with RTLD_DEEPBIND)
ASAN_TESTS ?= tests/integration -k "not php"
CC        ?= gcc

SOURCES   = mod_rai_embed.c mod_rai_embed_config.c mod_rai_embed_token.c mod_rai_embed_refresh.c \
            mod_rai_embed_filter.c mod_rai_embed_cache.c \
            mod_rai_embed_identity.c mod_rai_embed_backoff.c mod_rai_embed_metrics.c rai_scan.c rai_token.c rai_curl.c rai_libs.c rai_identity.c \
            rai_flight.c rai_backoff.c rai_claim.c rai_headers.c rai_seal.c rai_tag.c rai_rewrite.c rai_scancache.c \
            rai_memo.c
HEADERS   = mod_rai_embed.h rai_scan.h rai_token.h rai_curl.h rai_libs.h rai_identity.h rai_flight.h rai_backoff.h rai_claim.h rai_headers.h rai_seal.h rai_tag.h rai_rewrite.h rai_scancache.h rai_memo.h \
            rai_version.h rai_refresh_js.h
WARNINGS  = -Wc,-Wall -Wc,-Wextra -Wc,-Werror
# libcurl, json-c and libcrypto are not linked: each child loads them
# (rai_curl.h, rai_libs.h).  The tests that call them directly link them.
LIBS      = -ldl
TEST_LIBS = -ljson-c -lcrypto
JSON_CFLAGS = -I/usr/include/json-c

MODULE    = .libs/mod_rai_embed.so

# rai_scan.c, the scanner, is compiled by clang when there is one: GCC 12
# makes its block loop 13% slower (docs/deployment.md, Performance).  The rest is
# compiled by apxs's compiler; SCAN_CC=gcc builds all of it with GCC.
SCAN_CC     ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
# -gdwarf-4: Debian 12's dwz (dh_dwz, in make deb) cannot read clang 14's DWARF 5
SCAN_CFLAGS  = $(shell $(APXS) -q CFLAGS) -gdwarf-4 -Wall -Wextra -Werror
MODULE_SRCS  = $(filter-out rai_scan.c,$(SOURCES)) rai_scan.lo

UNIT_CFLAGS = -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer -I. $(JSON_CFLAGS) \
              $(shell $(APXS) -q EXTRA_CPPFLAGS 2>/dev/null) \
              -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null) \
              $(shell pkg-config --cflags apr-1 apr-util-1 2>/dev/null)
UNIT_LIBS = $(shell pkg-config --libs check 2>/dev/null) \
            $(shell pkg-config --libs apr-1 apr-util-1 2>/dev/null) $(LIBS) $(TEST_LIBS)

.PHONY: all install clean deps test unit integration asan-integration fuzz bench bench-shapes soak demo \
        demo-stop

all: $(MODULE)

$(MODULE): $(SOURCES) $(HEADERS) rai_scan.lo
	$(APXS) -c $(WARNINGS) -Wc,-I/usr/include/json-c $(MODULE_SRCS) $(LIBS)

# libtool's object, as apxs makes one of each source (PIC, in .libs/)
rai_scan.lo: rai_scan.c rai_scan.h
	$(shell $(APXS) -q LIBTOOL) --quiet --mode=compile --tag=CC $(SCAN_CC) $(SCAN_CFLAGS) \
	    -c -o $@ rai_scan.c

# The refresh script is a real file, js/rai_refresh.js; the module carries it
# as a byte array.  The header is committed too (an httpd source tree builds
# it as it is); test_browser.py checks that it matches the .js.
rai_refresh_js.h: js/rai_refresh.js scripts/js2h.sh
	sh scripts/js2h.sh js/rai_refresh.js rai_refresh_js >$@.tmp && mv $@.tmp $@

# --- install --------------------------------------------------------------
.PHONY: uninstall deb test-package
# The .so alone (no libtool .la, no libtool banner), and on Debian the .load
# and .conf that a2enmod reads.  Files that the Debian package owns are left
# to apt.
MODULES_DIR    = $(shell $(APXS) -q LIBEXECDIR)
APACHE_CONFDIR = $(shell $(APXS) -q SYSCONFDIR)
MODS_AVAILABLE = $(APACHE_CONFDIR)/mods-available
PACKAGE        = libapache2-mod-rai-embed
# 0 when dpkg knows the installed module as a file of the package
OWNED_BY_PACKAGE = [ -z "$(DESTDIR)" ] && dpkg -S $(MODULES_DIR)/mod_rai_embed.so >/dev/null 2>&1

install: $(MODULE)
	@if $(OWNED_BY_PACKAGE); then \
	    echo "install: $(MODULES_DIR)/mod_rai_embed.so belongs to $(PACKAGE): install a new package instead (make deb)" >&2; \
	    exit 1; fi
	install -d $(DESTDIR)$(MODULES_DIR)
	install -m 644 $(MODULE) $(DESTDIR)$(MODULES_DIR)/mod_rai_embed.so
	@if [ -d "$(DESTDIR)$(MODS_AVAILABLE)" ] || [ -d "$(MODS_AVAILABLE)" ]; then \
	    echo "install -m 644 debian/rai_embed.load debian/rai_embed.conf $(DESTDIR)$(MODS_AVAILABLE)/"; \
	    install -d $(DESTDIR)$(MODS_AVAILABLE) && \
	    sed 's|/usr/lib/apache2/modules/|$(MODULES_DIR)/|' debian/rai_embed.load \
	        >$(DESTDIR)$(MODS_AVAILABLE)/rai_embed.load && \
	    chmod 644 $(DESTDIR)$(MODS_AVAILABLE)/rai_embed.load && \
	    install -m 644 debian/rai_embed.conf $(DESTDIR)$(MODS_AVAILABLE)/rai_embed.conf && \
	    echo "install: enable it with: a2enmod rai_embed && apache2ctl -t"; \
	else \
	    echo "install: load it with: LoadModule rai_embed_module $(MODULES_DIR)/mod_rai_embed.so"; \
	fi

uninstall:
	@if $(OWNED_BY_PACKAGE); then \
	    echo "uninstall: $(MODULES_DIR)/mod_rai_embed.so belongs to $(PACKAGE): apt-get purge $(PACKAGE)" >&2; \
	    exit 1; fi
	@# -p: a2dismod also forgets the module (no "disabled by admin" mark that would keep a
	@# later package from enabling it)
	@if [ -z "$(DESTDIR)" ] && [ -e $(MODS_AVAILABLE)/rai_embed.load ] \
	    && command -v a2dismod >/dev/null 2>&1; then \
	    echo "a2dismod -q -p rai_embed"; a2dismod -q -p rai_embed; fi
	rm -f $(DESTDIR)$(MODULES_DIR)/mod_rai_embed.so \
	      $(DESTDIR)$(MODS_AVAILABLE)/rai_embed.load \
	      $(DESTDIR)$(MODS_AVAILABLE)/rai_embed.conf

# --- Debian package --------------------------------------------------------
# Built in a copy of the tree under build/deb/, so that the package build's
# files (debian/<package>/, stamps, its .libs) never land in the checkout.
deb:
	sh scripts/install-deps.sh deb
	sh scripts/build-deb.sh

test-package:
	sh scripts/install-deps.sh package
	sh tests/package/test_package.sh

clean:
	rm -rf .libs build *.la *.lo *.slo *.o tests/unit/*.bin tests/fuzz/*.bin bench/*.bin

deps:
	sh scripts/install-deps.sh test

# --- tests ----------------------------------------------------------------

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) integration
	$(MAKE) asan-integration

tests/unit/test_scan.bin: tests/unit/test_scan.c tests/unit/scan_model.c tests/unit/scan_model.h rai_scan.c rai_scan.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_scan.c tests/unit/scan_model.c rai_scan.c $(UNIT_LIBS)

tests/unit/test_token.bin: tests/unit/test_token.c rai_token.c rai_token.h rai_libs.c rai_libs.h rai_identity.c rai_identity.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_token.c rai_token.c rai_curl.c rai_libs.c $(UNIT_LIBS)

tests/unit/test_backoff.bin: tests/unit/test_backoff.c rai_backoff.c rai_backoff.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_backoff.c rai_backoff.c $(UNIT_LIBS)

tests/unit/test_claim.bin: tests/unit/test_claim.c rai_claim.c rai_claim.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_claim.c rai_claim.c $(UNIT_LIBS)

# test_flight.c includes rai_flight.c itself, to watch the rider count.
tests/unit/test_flight.bin: tests/unit/test_flight.c rai_flight.c rai_flight.h rai_token.h rai_identity.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_flight.c $(UNIT_LIBS)

tests/unit/test_identity.bin: tests/unit/test_identity.c rai_identity.c rai_identity.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_identity.c rai_identity.c $(UNIT_LIBS)

tests/unit/test_scancache.bin: tests/unit/test_scancache.c rai_scancache.c rai_scancache.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_scancache.c rai_scancache.c $(UNIT_LIBS)

tests/unit/test_memo.bin: tests/unit/test_memo.c rai_memo.c rai_memo.h rai_libs.c rai_libs.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_memo.c rai_memo.c rai_libs.c $(UNIT_LIBS) -lpthread

tests/unit/test_headers.bin: tests/unit/test_headers.c rai_headers.c rai_headers.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_headers.c rai_headers.c $(UNIT_LIBS)

tests/unit/test_rewrite.bin: tests/unit/test_rewrite.c tests/unit/rewrite_harness.h rai_rewrite.c rai_rewrite.h rai_scan.c rai_scan.h rai_tag.c rai_tag.h
	$(CC) $(UNIT_CFLAGS) -o $@ -Itests/unit tests/unit/test_rewrite.c rai_rewrite.c rai_scan.c rai_tag.c rai_scancache.c $(UNIT_LIBS)

UNIT_TESTS = test_scan test_token test_backoff test_claim test_flight test_identity test_headers test_rewrite test_scancache test_memo

unit: $(UNIT_TESTS:%=tests/unit/%.bin)
	for t in $(UNIT_TESTS); do ASAN_OPTIONS=detect_leaks=1 ./tests/unit/$$t.bin || exit 1; done

# The pure parts of the cache seal and the tag reader (rai_seal.c, rai_tag.c).
PURE_UNIT = tests/unit/test_seal.bin tests/unit/test_tag.bin

tests/unit/test_seal.bin: tests/unit/test_seal.c rai_seal.c rai_seal.h rai_libs.c rai_libs.h rai_token.c rai_token.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_seal.c rai_seal.c rai_token.c rai_curl.c rai_libs.c $(UNIT_LIBS)

tests/unit/test_tag.bin: tests/unit/test_tag.c rai_tag.c rai_tag.h
	$(CC) $(UNIT_CFLAGS) -Itests/unit -o $@ tests/unit/test_tag.c rai_tag.c $(UNIT_LIBS)

.PHONY: unit-pure
unit-pure: $(PURE_UNIT)
	for t in $(PURE_UNIT); do ASAN_OPTIONS=detect_leaks=1 ./$$t || exit 1; done

unit: unit-pure

integration: $(MODULE)
	$(PYTHON) -m pytest -q tests/integration

# The module built with AddressSanitizer, in build/asan/, and the integration
# tests run against it (httpd gets the ASan runtime preloaded).
ASAN_RUNTIME = $(shell $(CC) -print-file-name=libasan.so)
ASAN_MODULE  = build/asan/.libs/mod_rai_embed.so

$(ASAN_MODULE): $(SOURCES) $(HEADERS)
	mkdir -p build/asan
	cp $(SOURCES) $(HEADERS) build/asan/
	cd build/asan && $(APXS) -c $(WARNINGS) -Wc,-I/usr/include/json-c \
	    -Wc,-fsanitize=address,undefined -Wc,-fno-omit-frame-pointer \
	    -Wl,-fsanitize=address,undefined $(SOURCES) $(LIBS) >/dev/null

asan-integration: $(ASAN_MODULE)
	RAI_EMBED_SO=$(CURDIR)/$(ASAN_MODULE) \
	RAI_HTTPD_ENV="LD_PRELOAD=$(ASAN_RUNTIME) ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1" \
	$(PYTHON) -m pytest -q $(ASAN_TESTS)

FUZZ_SECONDS ?= 60
tests/fuzz/fuzz_scan.bin: tests/fuzz/fuzz_scan.c tests/unit/scan_model.c rai_scan.c rai_scan.h
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -I. -Itests/unit -o $@ tests/fuzz/fuzz_scan.c tests/unit/scan_model.c rai_scan.c

# block mode against the model (tests/fuzz/block_diff.c): generated hostile
# pages at random chunkings, every implementation; under ASan and UBSan
tests/fuzz/block_diff.bin: tests/fuzz/block_diff.c tests/unit/scan_model.c rai_scan.c rai_scan.h
	$(CC) -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -I. -Itests/unit -o $@ tests/fuzz/block_diff.c tests/unit/scan_model.c rai_scan.c

fuzz: fuzz-deps tests/fuzz/fuzz_scan.bin
	mkdir -p tests/fuzz/work
	./tests/fuzz/fuzz_scan.bin -dict=tests/fuzz/html.dict -max_total_time=$(FUZZ_SECONDS) \
	    tests/fuzz/work tests/fuzz/corpus

# libFuzzer targets of the pure parts: fuzz_<name>.bin, seed corpus in
# tests/fuzz/corpus-<name>/ (kept as it is; new inputs go to work-<name>/).
# fuzz-replay runs each over its seeds once (a few seconds, for make test);
# fuzz runs each for FUZZ_SECONDS too.
PURE_FUZZ_NAMES  = seal tag token_response rewrite headers
PURE_FUZZ        = $(PURE_FUZZ_NAMES:%=tests/fuzz/fuzz_%.bin)
PURE_FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
                   -fno-sanitize-recover=undefined -Wall -Wextra -Werror \
                   -I. $(JSON_CFLAGS) $(shell pkg-config --cflags apr-1 2>/dev/null)
PURE_FUZZ_LIBS   = $(shell pkg-config --libs apr-1 apr-util-1 2>/dev/null) $(LIBS) $(TEST_LIBS)

tests/fuzz/fuzz_seal.bin: tests/fuzz/fuzz_seal.c rai_seal.c rai_seal.h rai_libs.c rai_libs.h rai_token.c rai_token.h
	clang $(PURE_FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_seal.c rai_seal.c rai_token.c rai_curl.c rai_libs.c $(PURE_FUZZ_LIBS)

tests/fuzz/fuzz_tag.bin: tests/fuzz/fuzz_tag.c rai_tag.c rai_tag.h
	clang $(PURE_FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_tag.c rai_tag.c

tests/fuzz/fuzz_token_response.bin: tests/fuzz/fuzz_token_response.c rai_token.c rai_token.h rai_libs.c rai_libs.h rai_seal.c rai_seal.h
	clang $(PURE_FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_token_response.c rai_token.c rai_curl.c rai_seal.c rai_libs.c $(PURE_FUZZ_LIBS)

tests/fuzz/fuzz_rewrite.bin: tests/fuzz/fuzz_rewrite.c tests/unit/rewrite_harness.h rai_rewrite.c rai_rewrite.h rai_scan.c rai_scan.h rai_tag.c rai_tag.h
	clang $(PURE_FUZZ_CFLAGS) -Itests/unit -o $@ tests/fuzz/fuzz_rewrite.c rai_rewrite.c rai_scan.c rai_tag.c rai_scancache.c $(PURE_FUZZ_LIBS)

tests/fuzz/fuzz_headers.bin: tests/fuzz/fuzz_headers.c rai_headers.c rai_headers.h
	clang $(PURE_FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_headers.c rai_headers.c $(PURE_FUZZ_LIBS)

.PHONY: fuzz-deps fuzz-replay fuzz-pure
fuzz-deps:
	sh scripts/install-deps.sh fuzz

fuzz-replay: fuzz-deps
	$(MAKE) $(PURE_FUZZ) tests/fuzz/fuzz_scan.bin tests/fuzz/block_diff.bin
	./tests/fuzz/fuzz_scan.bin -runs=0 tests/fuzz/corpus
	ASAN_OPTIONS=detect_leaks=0 ./tests/fuzz/block_diff.bin 20000 1
	for f in $(PURE_FUZZ_NAMES); do \
	    ./tests/fuzz/fuzz_$$f.bin -runs=0 tests/fuzz/corpus-$$f || exit 1; \
	done

fuzz-pure: fuzz-deps
	$(MAKE) $(PURE_FUZZ)
	for f in $(PURE_FUZZ_NAMES); do \
	    mkdir -p tests/fuzz/work-$$f; \
	    dict=; [ -f tests/fuzz/$$f.dict ] && dict=-dict=tests/fuzz/$$f.dict; \
	    ./tests/fuzz/fuzz_$$f.bin $$dict -max_total_time=$(FUZZ_SECONDS) \
	        tests/fuzz/work-$$f tests/fuzz/corpus-$$f || exit 1; \
	done

fuzz: fuzz-pure

# --- benchmarks -----------------------------------------------------------

# bench/mod_bench_read.c: the cheapest reading filter (read + memchr), the
# yardstick for bodies that must be read; built in build/bench/, never installed.
BENCH_READ_MODULE = build/bench/.libs/mod_bench_read.so

$(BENCH_READ_MODULE): bench/mod_bench_read.c
	mkdir -p build/bench
	cp bench/mod_bench_read.c build/bench/
	cd build/bench && $(APXS) -c $(WARNINGS) mod_bench_read.c >/dev/null

# The scanner against memchr (on CPU 1), then bench/bench_http.py: every
# variant side by side, httpd on CPU 0 and wrk on CPU 1.  BENCH_ROUNDS= and
# WRK_SECONDS= change the length (defaults 4 and 3, the CGI twice as long:
# about 8 minutes in all; CGI_SECONDS= sets the CGI's).
bench:
	sh scripts/install-deps.sh bench
	$(MAKE) all $(BENCH_READ_MODULE)
	$(SCAN_CC) -O2 -Wall -Wextra -Werror -I. -o bench/bench_scan.bin bench/bench_scan.c rai_scan.c
	taskset -c 1 ./bench/bench_scan.bin
	BENCH_READ_SO=$(CURDIR)/$(BENCH_READ_MODULE) $(PYTHON) bench/bench_http.py

# The scanner on pages of one shape each (bench/scan_shapes.py): where its
# time goes.  Not part of make bench.
bench-shapes:
	$(SCAN_CC) -O2 -Wall -Wextra -Werror -I. -o bench/bench_scan.bin bench/bench_scan.c rai_scan.c
	$(PYTHON) bench/scan_shapes.py

# A bounded soak (bench/soak.py): 100k requests while the API flaps, against
# the ASan-built module.  Prints figures; SOAK_REQUESTS= etc. to change it.
soak: $(ASAN_MODULE)
	sh scripts/install-deps.sh test
	RAI_EMBED_SO=$(CURDIR)/$(ASAN_MODULE) \
	RAI_HTTPD_ENV="LD_PRELOAD=$(ASAN_RUNTIME) ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1" \
	$(PYTHON) bench/soak.py

# --- demo -----------------------------------------------------------------

demo:
	sh scripts/install-deps.sh demo
	$(MAKE) all
	PORT=$(PORT) sh demo/run.sh start

demo-stop:
	PORT=$(PORT) sh demo/run.sh stop
