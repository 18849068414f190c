# Scanner tests, fuzzer and benchmark; include from the top-level Makefile
# (paths are relative to the top of the tree):
#
#   include tests/unit/Makefile.frag
#   test: test-scan
#
# Environment knobs of test_scan: CK_RUN_CASE=<group> runs one group (pages,
# names, pattern_blowup, big, model); RAI_TEST_SCRIPT_ESCAPES=1 also checks
# the WHATWG "script data escaped" states that rai_scan.c leaves out on
# purpose (expected to fail while it does).

SCAN_TEST_CC      ?= cc
SCAN_TEST_CFLAGS  ?= -Wall -Wextra -Werror -fsanitize=address,undefined \
                     -fno-sanitize-recover=undefined -g
CHECK_CFLAGS      := $(shell pkg-config --cflags check)
CHECK_LIBS        := $(shell pkg-config --libs check)
FUZZ_CC           ?= clang
FUZZ_SECONDS      ?= 60

tests/unit/test_scan: tests/unit/test_scan.c tests/unit/scan_model.c \
                      tests/unit/scan_model.h rai_scan.c rai_scan.h
	$(SCAN_TEST_CC) $(SCAN_TEST_CFLAGS) -I. $(CHECK_CFLAGS) \
	    tests/unit/test_scan.c tests/unit/scan_model.c rai_scan.c \
	    $(CHECK_LIBS) -o $@

tests/fuzz/fuzz_scan: tests/fuzz/fuzz_scan.c tests/unit/scan_model.c \
                      tests/unit/scan_model.h rai_scan.c rai_scan.h
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -Wall -Wextra -Werror \
	    -I. -Itests/unit tests/fuzz/fuzz_scan.c tests/unit/scan_model.c \
	    rai_scan.c -o $@

bench/bench_scan: bench/bench_scan.c rai_scan.c rai_scan.h
	$(SCAN_TEST_CC) -O2 -Wall -Wextra -Werror -I. bench/bench_scan.c \
	    rai_scan.c -o $@

.PHONY: test-scan fuzz-scan bench-scan clean-scan
test-scan: tests/unit/test_scan
	ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_scan

fuzz-scan: tests/fuzz/fuzz_scan
	mkdir -p tests/fuzz/work
	./tests/fuzz/fuzz_scan -dict=tests/fuzz/html.dict \
	    -max_total_time=$(FUZZ_SECONDS) tests/fuzz/work tests/fuzz/corpus

bench-scan: bench/bench_scan
	./bench/bench_scan

clean-scan:
	rm -f tests/unit/test_scan tests/fuzz/fuzz_scan bench/bench_scan
	rm -rf tests/fuzz/work
