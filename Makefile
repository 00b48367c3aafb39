# Thin wrapper over CMake. `make demo` and `make test` are the two commands a
# newcomer needs; the rest are for development and CI.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
GEN := -G Ninja

.PHONY: all demo test bench cross release clean format fuzz tsan target-test

all: release

# The optimised build behind demo and bench: the library, the tool and the
# benchmarks (the tests run in the sanitizer build of `make test`).
release:
	@scripts/install-deps.sh test
	cmake -S . -B $(BUILD)/release $(GEN) -DCMAKE_BUILD_TYPE=Release \
	  -DCAIRN_BUILD_TESTS=OFF
	cmake --build $(BUILD)/release -j $(JOBS)

# Builds, then runs the cairn tool end to end on a flash image in build/demo.
demo: release
	@scripts/demo.sh $(BUILD)/release $(BUILD)/demo

# Builds with AddressSanitizer + UBSan and runs every test.
test:
	@scripts/install-deps.sh test
	cmake -S . -B $(BUILD)/asan $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCAIRN_SANITIZE=ON
	cmake --build $(BUILD)/asan -j $(JOBS)
	ctest --test-dir $(BUILD)/asan --output-on-failure -j $(JOBS)

# Standard workloads W1..W6; writes build/bench.json. Valgrind (for the
# instruction count) is optional: without it that one figure is left out.
bench: release
	-@scripts/install-deps.sh bench
	@scripts/bench.sh $(BUILD)/release $(BUILD)

# The library for Cortex-M4 (-Os, -mthumb), size per object.
cross:
	@scripts/install-deps.sh build cross
	cmake -S . -B $(BUILD)/cross $(GEN) -DCMAKE_BUILD_TYPE=MinSizeRel \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DCAIRN_CRC_SMALL=ON
	cmake --build $(BUILD)/cross -j $(JOBS)
	@scripts/cross-size.sh $(BUILD)/cross

# libFuzzer targets (clang), each for FUZZ_SECONDS (default 60).
fuzz:
	@scripts/install-deps.sh test fuzz
	@scripts/fuzz.sh $(BUILD)/fuzz

# The concurrency stress tests under ThreadSanitizer.
tsan:
	@scripts/install-deps.sh test
	@scripts/tsan.sh $(BUILD)/tsan

# Cortex-M4 and Cortex-M3 test programs under qemu-system-arm.
target-test:
	@scripts/install-deps.sh build target
	@scripts/target-test.sh $(BUILD)/target

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD)
