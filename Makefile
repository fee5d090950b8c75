# Thin wrapper over CMake presets; see README.md.
JOBS ?= $(shell nproc)

.PHONY: all deps build test chaos demo demo-ha bench plots asan tsan fuzz install clean
PREFIX ?= /usr/local

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

test: build
	@ctest --preset default -j $(JOBS)

# 100 rounds of kill -9 against server, agent and readers (tests/chaos/chaos.py); `make test`
# runs 10 through ctest. CHAOS_ARGS adds options, e.g. CHAOS_ARGS="--seed 42 --keep".
CHAOS_ROUNDS ?= 100
chaos: build
	@py=$$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' build/CMakeCache.txt); \
	  $${py:-python3} tests/chaos/chaos.py --build build --rounds $(CHAOS_ROUNDS) $(CHAOS_ARGS)

demo: build
	@scripts/demo.sh build

# Three etcd members and three roster-servers on fixed loopback ports (scripts/demo-ha.sh lists
# them), an agent listing all three; the leader is killed with kill -9 and writes go on.
demo-ha: build
	@scripts/demo-ha.sh build

bench: build
	@scripts/bench.sh build

# The pictures in bench/README.md ("Pictures") from whatever JSON bench/results/ holds; needs
# matplotlib (scripts/install-deps.sh), not a build.
plots:
	@py=$$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' build/CMakeCache.txt 2>/dev/null); \
	  $${py:-python3} bench/plot.py bench/results --out bench/plots

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@ctest --preset tsan -j $(JOBS)

# libFuzzer harnesses (fuzz/README.md): clang 14 with ASan + UBSan in build-fuzz/, each harness
# for FUZZ_SECONDS on a scratch copy of its corpus. FUZZERS picks some, e.g. FUZZERS="http_request".
FUZZ_SECONDS ?= 60
FUZZERS ?=
fuzz:
	@scripts/install-deps.sh fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZERS)

install: build
	@cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-fuzz
