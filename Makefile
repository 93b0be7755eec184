# layerfs - see README.md.  Everything is built under $(BUILD).
#
#   make            the library, the core archive and the test programs;
#                   it only builds
#   make test       every test, in a normal and in a sanitizer build, and the
#                   threaded ones under ThreadSanitizer
#   make demo       the quick start: the launcher on a bundled example
#   make bench      benchmarks (bench/)
#   make install    PREFIX=/usr/local DESTDIR=
#
# demo, test, test-tsan, bench and fuzz first check that what the build and
# the tests need is installed (scripts/deps.sh; as root it runs apt-get).

-include config.mk

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
WERROR  ?= 1
SAN     ?= 0
TSAN    ?= 0
CC      ?= cc
CFLAGS  ?= -O2 -g

# The version is written once, in core/layerfs.h; the launcher asks the
# helper for it, `make install` writes it into the .pc file and man page.
LAYERFS_VERSION := $(shell sed -n 's/^\#define LAYERFS_VERSION "\(.*\)"$$/\1/p' core/layerfs.h)

PKGS := libarchive
LAYERFS_CFLAGS := -std=c11 -fPIC -pthread -Wall -Wextra -Wstrict-prototypes \
	-Wwrite-strings -Wshadow -Wno-missing-field-initializers \
	-fvisibility=hidden -Icore $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ifeq ($(WERROR),1)
LAYERFS_CFLAGS += -Werror
endif
ifeq ($(SAN),1)
LAYERFS_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif
ifeq ($(TSAN),1)
LAYERFS_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=thread
endif
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -larchive) -pthread -ldl
# liblayerfs.so does not link libarchive: core/archive_lib.c dlopen()s it
# when an archive must be read (libarchive and what it pulls in would
# otherwise be loaded into every process the shim is preloaded into).
SHIM_LIBS := -pthread -ldl

CORE_SRC  := $(wildcard core/*.c)
SHIM_SRC  := $(wildcard shim/*.c)
UNIT_SRC  := $(wildcard tests/unit/*.c)
TOOL_SRC  := $(wildcard tests/tools/*.c)

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
SHIM_OBJ  := $(SHIM_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
TOOLS     := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
# Test programs also built static: their calls only the supervisor sees.
STATIC_TOOLS := $(BUILD)/tools/contain-static $(BUILD)/tools/fuzz-static

HELPER    := $(BUILD)/layerfs-helper
CORE_LIB  := $(BUILD)/liblayerfs-core.a
SHIM_LIB  := $(BUILD)/liblayerfs.so
UNIT_BIN  := $(BUILD)/unit-tests

ALL := $(CORE_LIB) $(UNIT_BIN) $(TOOLS) $(STATIC_TOOLS) $(HELPER)
ifneq ($(SHIM_SRC),)
ALL += $(SHIM_LIB)
endif

# Compiling waits for the package check only when a goal that runs it was
# asked for, so that `make -j2 demo` does not compile before apt-get ends.
DEPS_GOALS := demo test test-tsan bench fuzz
ifneq ($(filter $(DEPS_GOALS),$(MAKECMDGOALS)),)
NEED_DEPS := deps
endif

.PHONY: all test check deps demo bench install clean
all: $(ALL)

$(BUILD)/obj/%.o: %.c | $(NEED_DEPS)
	@mkdir -p $(@D)
	$(CC) $(LAYERFS_CFLAGS) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# The export list comes from the wrapper table: exactly the wrapped names.
$(BUILD)/exports.map: shim/syscalls.def
	@mkdir -p $(@D)
	{ echo '{ global:'; sed -n 's/^[XV]([^,]*, *\([A-Za-z0-9_]*\),.*/  \1;/p' $<; \
	  echo 'local: *; };'; } > $@

# The shim is only ever LD_PRELOADed (never dlopen()ed), so its TLS
# (shim_depth, shim_errno) can be initial-exec: one %fs load, no
# __tls_get_addr call.
$(SHIM_OBJ): LAYERFS_CFLAGS += -U_FORTIFY_SOURCE -ftls-model=initial-exec

$(SHIM_LIB): $(SHIM_OBJ) $(CORE_LIB) $(BUILD)/exports.map
	$(CC) -shared -Wl,-z,defs -Wl,--version-script=$(BUILD)/exports.map \
		$(SAN_LDFLAGS) $(LDFLAGS) $(SHIM_OBJ) $(CORE_LIB) $(SHIM_LIBS) -o $@

$(UNIT_BIN): $(UNIT_OBJ) $(CORE_LIB)
	$(CC) $(SAN_LDFLAGS) $(LDFLAGS) $(UNIT_OBJ) $(CORE_LIB) \
		$(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion) $(LIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c $(CORE_LIB) | $(NEED_DEPS)
	@mkdir -p $(@D)
	$(CC) $(LAYERFS_CFLAGS) $(CFLAGS) -MMD -MP $(SAN_LDFLAGS) $(LDFLAGS) $< $(CORE_LIB) $(LIBS) -o $@

# Static test programs are built without the sanitizers, which need a
# dynamic libc.
$(BUILD)/tools/%-static: tests/tools/%.c | $(NEED_DEPS)
	@mkdir -p $(@D)
	$(CC) $(filter-out -fsanitize=%,$(LAYERFS_CFLAGS)) $(CFLAGS) -static $< -o $@

# The helper: the launcher's C half, and the supervisor of programs that
# make their own system calls (libseccomp builds its filter).
HELPER_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,scripts/layerfs-helper.c scripts/supervise.c)
HELPER_LIBS := $(LIBS) $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)
# Container images (scripts/image.c): JSON through jansson, in the helper
# only (image.c says why jansson).
HELPER_OBJ += $(BUILD)/obj/scripts/image.o
HELPER_LIBS += $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
$(BUILD)/obj/scripts/image.o: CFLAGS += $(shell pkg-config --cflags jansson 2>/dev/null)
$(HELPER): $(HELPER_OBJ) $(CORE_LIB)
	$(CC) $(SAN_LDFLAGS) $(LDFLAGS) $(HELPER_OBJ) $(CORE_LIB) $(HELPER_LIBS) -o $@

# Installs what the build needs when it is missing (apt-get as root),
# otherwise prints the exact command and stops.
deps:
	@scripts/deps.sh

# One build's tests; `make test` runs it for a sanitizer and a normal build.
check: all
	@tests/run-all.sh $(BUILD)

# Every part always runs: the threaded tests under ThreadSanitizer, then
# the sanitizer build, then the normal one, so the output ends with the
# normal build's Criterion summary, or on failure with the parts and suites
# that failed.
test: deps
	@failed=; \
	$(MAKE) --no-print-directory test-tsan || failed="$$failed tsan"; \
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 check || \
		failed="$$failed san:$$(cat build/san/failed 2>/dev/null)"; \
	$(MAKE) --no-print-directory BUILD=build check || \
		failed="$$failed normal:$$(cat build/failed 2>/dev/null)"; \
	[ -z "$$failed" ] || { cat build/san/failed.log build/failed.log 2>/dev/null; \
		echo "make test: FAILED in:$$failed"; exit 1; }

# The threaded tests (tests/integration/concurrency.sh) in a
# ThreadSanitizer build.
.PHONY: test-tsan
test-tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan TSAN=1 build/tsan/liblayerfs.so \
		build/tsan/tools/stress > /dev/null
	@LAYERFS_BUILD=$(CURDIR)/build/tsan bash tests/integration/concurrency.sh

# Longer differential fuzzing than `make test` does, in one build:
#   make fuzz SEEDS=N OPS=M   (tests/integration/fuzz.sh)
SEEDS ?= 200
OPS   ?= 1000
.PHONY: fuzz
fuzz: deps $(SHIM_LIB) $(HELPER) $(BUILD)/tools/fuzz $(BUILD)/tools/fuzz-static
	FUZZ_SEEDS=$(SEEDS) FUZZ_OPS=$(OPS) LAYERFS_BUILD=$(abspath $(BUILD)) \
		bash tests/integration/fuzz.sh

demo: deps all
	@scripts/demo.sh $(BUILD)

bench: deps all
	@bench/run.sh $(BUILD)
	@LAYERFS_BUILD=$(abspath $(BUILD)) bash bench/images.sh

# What is installed, not the tests: Criterion is not needed here.
install: $(CORE_LIB) $(SHIM_LIB) $(HELPER)
	@test -n "$(LAYERFS_VERSION)" || { echo "no LAYERFS_VERSION in core/layerfs.h" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include/layerfs $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -d $(DESTDIR)$(PREFIX)/lib/layerfs
	install -m 0755 scripts/layerfs $(DESTDIR)$(PREFIX)/bin/layerfs
	install -m 0755 $(HELPER) $(DESTDIR)$(PREFIX)/lib/layerfs/layerfs-helper
	install -m 0755 $(SHIM_LIB) $(DESTDIR)$(PREFIX)/lib/liblayerfs.so
	install -m 0644 $(CORE_LIB) $(DESTDIR)$(PREFIX)/lib/liblayerfs-core.a
	install -m 0644 core/layerfs.h core/layer.h $(DESTDIR)$(PREFIX)/include/layerfs/
	sed 's|@PREFIX@|$(PREFIX)|;s|@VERSION@|$(LAYERFS_VERSION)|' \
		scripts/layerfs.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/layerfs.pc
	sed 's|@VERSION@|$(LAYERFS_VERSION)|' scripts/layerfs.1 \
		> $(DESTDIR)$(PREFIX)/share/man/man1/layerfs.1
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/layerfs.1

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/tools/*.d $(BUILD)/*.d)
