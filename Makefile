# Thin wrapper over CMake. `make demo` and `make test` work from a clean clone.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 45
FUZZ_FAST_BUILD ?= build-fuzz-fast
FUZZ_FAST_TIME  ?= 30
EXPENSIVE_BUILD ?= build-expensive
VERIFY_BUILD ?= build-verify
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local

.PHONY: all demo test unit asan valgrind expensive verify stress tsan fuzz bench compare install clean

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRC_VALGRIND=ON
	cmake --build $(BUILD) -j $(JOBS)

# The seed article's scenarios, with their memory lines.
demo: all
	./$(BUILD)/recycle demo

# Every test: optimised build, then ASan+UBSan (debug checks on), then the
# core tests under valgrind, then the suite with the heap verifier around
# every collection (RC_EXPENSIVE) with debug checks and again optimised
# (verify), and with a collection at every allocation (RC_GC_STRESS), then
# the multi-threaded tests under ThreadSanitizer.
test: unit asan valgrind expensive verify stress tsan

unit: all
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure -LE valgrind

asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRC_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(ASAN_BUILD) -j $(JOBS) --output-on-failure -LE valgrind

valgrind: all
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure -L valgrind

# The suite with debug checks and rc_heap_check before and after every
# collection (stops at the first broken heap with its report).
expensive:
	cmake -S . -B $(EXPENSIVE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRC_DEBUG=ON -DRC_EXPENSIVE=ON
	cmake --build $(EXPENSIVE_BUILD) -j $(JOBS)
	ctest --test-dir $(EXPENSIVE_BUILD) -j $(JOBS) --output-on-failure -LE valgrind -E install_check

# The heap verifier around every collection in the optimised build without
# RC_DEBUG: its pages are not watched, so the allocation and collection
# fast paths run (an RC_DEBUG build watches every page and never takes
# them). Malloc mode watches every page too: those tests are left out.
verify:
	cmake -S . -B $(VERIFY_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRC_EXPENSIVE=ON
	cmake --build $(VERIFY_BUILD) -j $(JOBS)
	ctest --test-dir $(VERIFY_BUILD) -j $(JOBS) --output-on-failure -LE valgrind -E '^malloc_|install_check'

# The suite with a collection at every allocation of a tracked object, in
# the sanitized debug build (the one `make asan` makes), so ASan and the
# debug checks watch every collection path. RC_TEST_QUICK: the slowest
# tests make fewer iterations, as under valgrind.
stress:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRC_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	RC_GC_STRESS=1 RC_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(ASAN_BUILD) -j $(JOBS) --output-on-failure -LE valgrind

# The multi-threaded tests (label threads) under ThreadSanitizer, debug
# checks on, no suppressions: any report fails the test (TSan's exit code).
tsan:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRC_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --test-dir $(TSAN_BUILD) -j $(JOBS) --output-on-failure -L threads

# libFuzzer on the API for FUZZ_TIME seconds (clang; ASan+UBSan+RC_DEBUG),
# then for FUZZ_FAST_TIME seconds on the fast paths (UBSan+RC_EXPENSIVE:
# no page watched, the heap verifier around every collection), starting
# from the first run's corpus. New inputs go to $(FUZZ_BUILD)/corpus, a
# crash to $(FUZZ_BUILD)/crash-* or $(FUZZ_FAST_BUILD)/crash-*.
# Hours-long runs: docs/fuzzing.md.
fuzz:
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRC_FUZZ=ON -DRC_BUILD_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_api
	mkdir -p $(FUZZ_BUILD)/corpus
	./$(FUZZ_BUILD)/fuzz_api -max_total_time=$(FUZZ_TIME) -timeout=20 -rss_limit_mb=4096 \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus fuzz/corpus
	cmake -S . -B $(FUZZ_FAST_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRC_FUZZ=ON -DRC_FUZZ_FAST=ON -DRC_BUILD_TESTS=OFF
	cmake --build $(FUZZ_FAST_BUILD) -j $(JOBS) --target fuzz_api
	./$(FUZZ_FAST_BUILD)/fuzz_api -max_total_time=$(FUZZ_FAST_TIME) -timeout=20 -rss_limit_mb=4096 \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_FAST_BUILD)/ $(FUZZ_BUILD)/corpus fuzz/corpus

# Workloads W1-W8 of bench/WORKLOADS.md (and the leak tools, hashflood) on recycle.
bench: all
	./$(BUILD)/recycle bench all

# Side by side with CPython, bdwgc and malloc -> bench/results/ (<= 20 min on 2 cores),
# from a clean tree only (the table names the commit it measured; see --allow-dirty).
# make compare COMPARE_ARGS=--quick : small sizes, under a minute, build/compare-quick/results
# Missing Debian packages (gnuplot-nox, libgc-dev, libmimalloc-dev, libjemalloc-dev,
# python3): bench/compare_deps.sh
# names them and the apt-get command, then asks on a terminal; INSTALL=1
# installs without asking, INSTALL=0 never; without a terminal (CI) it installs.
COMPARE_ARGS ?=
INSTALL ?=
compare:
	@INSTALL=$(INSTALL) sh bench/compare_deps.sh
	$(MAKE) all
	/usr/bin/python3 bench/compare.py --recycle $(BUILD)/recycle $(COMPARE_ARGS)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(EXPENSIVE_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(FUZZ_FAST_BUILD)
