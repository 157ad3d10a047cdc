# Makefile — builds stoker, its tests, fuzzers and benchmarks.
#
# Invariants:
#  - `make test`, `make run` and `make sanitize` first run `deps`, which installs missing Debian
#    packages (as root) or prints the exact command; the real work then runs in a sub-make so
#    that pkg-config is consulted only after the packages exist.
#  - Every object depends on a flags stamp that changes when the compiler flags change, so a
#    change of flags rebuilds; -MMD -MP tracks header dependencies.
#  - Each build variant (default, asan) has its own object tree under build/.

SHELL := /bin/bash
.DEFAULT_GOAL := all

VARIANT ?= default
BUILD   := build/$(VARIANT)
CC      ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

# Debian packages the build, the tests and the tools need.
DEPS_BUILD := gcc make pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev libexpat1-dev \
              libyaml-dev zlib1g-dev tzdata libcunit1-dev libmicrohttpd-dev
# The tests also drive the emulator with Debian's AWS CLI (/usr/bin/aws; large, tests only).
DEPS_TEST  := awscli python3-yaml $(if $(wildcard /usr/bin/kubectl),,kubernetes-client)
DEPS_FUZZ  := clang libclang-rt-14-dev
DEPS_TOOLS := bear

PKGS := libcurl openssl jansson expat yaml-0.1 zlib libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CUNIT_LIBS := $(shell pkg-config --libs cunit 2>/dev/null || echo -lcunit)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
ifneq ($(CI),)
WARN += -Werror
endif

OPT ?= -O2 -g
SAN_FLAGS :=
ifeq ($(VARIANT),asan)
OPT := -O1 -g
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

CPPFLAGS_ALL := -I. -D_GNU_SOURCE $(PKG_CFLAGS)
CFLAGS_ALL   := -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) $(CFLAGS)
LDFLAGS_ALL  := $(SAN_FLAGS) $(LDFLAGS)
LIBS_ALL     := $(PKG_LIBS) -lpthread -lm

# Library modules: everything but the CLI's main.
MODULES  := core aws k8s amiresolve userdata launcher controller prewarm sim cli
LIB_SRCS := $(filter-out cli/main.c launcher/embed/%,$(wildcard $(addsuffix /*.c,$(MODULES))))
# The instance catalog (launcher/data/instance-types.csv) is compiled in as generated source.
CATALOG_OBJ := $(BUILD)/gen/catalog_csv.o
# So are stoker's CRDs (deploy/crds/*.yaml, one YAML stream), which the emulated API serves.
CRD_FILES := $(sort $(wildcard deploy/crds/*.yaml))
CRDS_OBJ := $(BUILD)/gen/crds_yaml.o
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(CATALOG_OBJ) $(CRDS_OBJ)
LIB      := $(BUILD)/libstoker.a

TEST_SRCS  := $(wildcard tests/unit/*.c) $(wildcard tests/integration/*.c)
TEST_OBJS  := $(TEST_SRCS:%.c=$(BUILD)/%.o)
TEST_BIN   := $(BUILD)/stoker-tests

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_OBJS := $(BENCH_SRCS:%.c=$(BUILD)/%.o)
BENCH_BIN  := $(BUILD)/stoker-bench

FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 20

STAMP := $(BUILD)/.flags

# `make V=1` shows whole command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

ifeq ($(VARIANT),default)
STOKER := stoker
else
STOKER := $(BUILD)/stoker
endif

.PHONY: all deps deps-test deps-fuzz deps-tools test _test sanitize _sanitize bench _bench fuzz _fuzz run \
        _run clean compile_commands.json FORCE

all: $(STOKER)

# ---- dependencies -------------------------------------------------------------------------
# Installs what is missing when run as root; otherwise names the command and fails.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing Debian packages:$$missing"; \
	    echo "deps: run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call install_missing,$(DEPS_BUILD))

deps-test:
	$(call install_missing,$(DEPS_TEST))

deps-fuzz:
	$(call install_missing,$(DEPS_FUZZ))

deps-tools:
	$(call install_missing,$(DEPS_TOOLS))

# ---- build --------------------------------------------------------------------------------
$(STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LIBS_ALL)' > $@.new; \
	if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

# The commit goes into one generated header, rewritten only when it changes, so only the
# version command rebuilds after a commit.
$(BUILD)/gen/stoker_commit.h: FORCE
	@mkdir -p $(@D)
	@echo '#define STOKER_GIT_COMMIT "$(GIT_COMMIT)"' > $@.new; \
	if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

$(BUILD)/cli/cli.o: $(BUILD)/gen/stoker_commit.h

$(BUILD)/%.o: %.c $(STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) -I$(BUILD)/gen $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# embed_gen is a host tool that turns a data file into a C array; it is not library code.
$(BUILD)/gen/embed_gen: launcher/embed/embed_gen.c $(STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(CC) -std=c11 -O2 $(WARN) -o $@ $<

$(BUILD)/gen/catalog_csv.c: launcher/data/instance-types.csv $(BUILD)/gen/embed_gen
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/gen/embed_gen launcher_catalog_csv $< $@

$(CATALOG_OBJ): $(BUILD)/gen/catalog_csv.c $(STAMP)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

# The CRD files joined into one YAML stream (a document separator before each file).
$(BUILD)/gen/crds.yaml: $(CRD_FILES)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)for f in $(CRD_FILES); do printf -- '---\n# %s\n' "$$f"; cat "$$f"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/crds_yaml.c: $(BUILD)/gen/crds.yaml $(BUILD)/gen/embed_gen
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/gen/embed_gen sim_crds_yaml $< $@

$(CRDS_OBJ): $(BUILD)/gen/crds_yaml.c $(STAMP)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(STOKER): $(BUILD)/cli/main.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CUNIT_LIBS) $(LIBS_ALL)

$(BENCH_BIN): $(BENCH_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

# ---- tests ----------------------------------------------------------------------------------
# The test binary finds the stoker binary and test data through these variables.
test: deps deps-test
	@$(MAKE) --no-print-directory _test

_test: $(STOKER) $(TEST_BIN)
	STOKER_BIN=$(abspath $(STOKER)) STOKER_TESTDATA=$(abspath tests/data) $(TEST_BIN)

sanitize: deps deps-test
	@$(MAKE) --no-print-directory VARIANT=asan _sanitize

_sanitize: $(STOKER) $(TEST_BIN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	STOKER_BIN=$(abspath $(STOKER)) STOKER_TESTDATA=$(abspath tests/data) $(TEST_BIN)

bench: deps
	@$(MAKE) --no-print-directory _bench

_bench: $(BENCH_BIN)
	@mkdir -p build/bench
	$(BENCH_BIN) --json build/bench/results.json

# ---- fuzzing (clang + libFuzzer) ----------------------------------------------------------
# The library is compiled once with coverage instrumentation (fuzzer-no-link); each target
# links against those objects.
FUZZ_SAN := -fsanitize=address,undefined
FUZZ_CFLAGS := -g -O1 $(FUZZ_SAN) -I. -D_GNU_SOURCE $(PKG_CFLAGS)
FUZZ_LIB_SRCS := $(filter core/% aws/% k8s/% amiresolve/% userdata/% launcher/% prewarm/% sim/%,$(LIB_SRCS))
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=build/fuzz/obj/%.o) build/fuzz/obj/gen/catalog_csv.o \
                 build/fuzz/obj/gen/crds_yaml.o

# Objects reached only through the fuzz_% pattern rule would count as intermediate and be
# deleted after each build; keep them so a rebuild compiles only what changed.
.SECONDARY: $(FUZZ_LIB_OBJS)

fuzz: deps deps-fuzz
	@$(MAKE) --no-print-directory _fuzz

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CLANG   $<")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/obj/gen/catalog_csv.o: $(BUILD)/gen/catalog_csv.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CLANG   $<")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/obj/gen/crds_yaml.o: $(BUILD)/gen/crds_yaml.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CLANG   $<")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(PKG_LIBS) -lpthread -lm

_fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	  name=$$(basename $$f); corpus=tests/fuzz/corpus/$${name#fuzz_}; \
	  mkdir -p build/fuzz/work/$$name; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/work/$$name \
	    $$( [ -d $$corpus ] && echo $$corpus ) 2>&1 | grep -E '^(stat::number_of_executed_units|stat::peak_rss|==|SUMMARY|Done)' || true; \
	  test $${PIPESTATUS[0]} -eq 0; \
	done

# ---- running ------------------------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory _run

# The embedded default: the flash-sale scenario on the simulator (emulated EC2 and Kubernetes,
# the real controller, virtual time). SCENARIO=steady|pvc-zones|gpu-mix|chaos picks another.
SCENARIO ?= flash-sale
_run: $(STOKER)
	./$(STOKER) sim --scenario $(SCENARIO) --report stoker-sim-report.html

# ---- tooling ------------------------------------------------------------------------------
compile_commands.json: deps deps-tools
	bear --output $@ -- $(MAKE) -B --no-print-directory all $(TEST_BIN) $(BENCH_BIN)

clean:
	rm -rf build stoker compile_commands.json

FORCE:

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BENCH_OBJS:.o=.d) $(BUILD)/cli/main.d
-include $(wildcard build/fuzz/obj/*/*.d)
