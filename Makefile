# svrlab: one entry point for everything. `make help` lists the targets.
#
# Programs are built into build/: build/chapterN/ from your chapterN/, build/solutions/chapterN/
# from the reference solutions. What each chapter builds is data: grader/chapters/chapterN.mk.

.DEFAULT_GOAL := all
include common/flags.mk

# A chapter is ready once it has points data; until then its build file may exist alone.
CHAPTERS := $(sort $(patsubst grader/chapters/chapter%.points,%,$(wildcard grader/chapters/chapter*.points)))
B := build
SUBMAKE := $(MAKE) --no-print-directory $(if $(filter 1,$(V)),,-s)

# ---- dependencies ------------------------------------------------------------------------
# Debian packages the lab needs, and the checks that tell whether they are here. Every target
# that builds runs the checks first and calls `make deps` when one fails.
# DEB_PKGS_EXTRA adds packages that only some targets need: `make bench` runs
# `make deps DEB_PKGS_EXTRA="$(BENCH_DEB_PKGS)"` when gnuplot is missing, so a plain `make deps`
# never installs it.
# DEPS_OK runs in a subshell, ( ), so that the loop's `exit 1` ends the check, not the recipe.
DEB_PKGS := gcc make pkg-config libevent-dev libssl-dev check libjansson-dev libxml2-dev valgrind gdb jq zip unzip stress-ng
DEB_PKGS_EXTRA ?=
BENCH_DEB_PKGS := gnuplot-nox redis-server redis-tools
PROFILE_DEB_PKGS := google-perftools libgoogle-perftools-dev graphviz
PC_MODULES := libevent libcrypto check jansson libxml-2.0
TOOLS := cc pkg-config valgrind gdb jq
DEPS_OK := ( for t in $(TOOLS); do command -v $$t || exit 1; done; pkg-config --exists $(PC_MODULES) ) >/dev/null 2>&1
ENSURE_DEPS := $(DEPS_OK) || $(SUBMAKE) deps

grader-ready:
	@$(ENSURE_DEPS)
	@$(SUBMAKE) driver

.PHONY: grader-ready all deps grade debug status hint watch gradescope solutions test mutants bench profile clean asan help starters submission driver programs common-tests
all:
	@$(ENSURE_DEPS)
	@$(SUBMAKE) driver programs common-tests

deps:
	@missing=$$(for p in $(DEB_PKGS) $(DEB_PKGS_EXTRA); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: everything svrlab needs is installed"; exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "deps: no apt-get on this system; install these packages (Debian names):" $$missing >&2; \
	    exit 1; fi; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	echo "+ $${sudo:+$$sudo }apt-get update"; $$sudo apt-get update -qq || exit 1; \
	echo "+ $${sudo:+$$sudo }apt-get install -y" $$missing; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	echo "deps: installed" $$missing

# ---- building ----------------------------------------------------------------------------
driver: $(B)/grader/grade

DRIVER_SRCS := $(wildcard grader/driver/*.c)
DRIVER_OBJS := $(patsubst grader/driver/%.c,$(B)/grader/%.o,$(DRIVER_SRCS))
$(B)/grader/%.o: grader/driver/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags jansson libxml-2.0) -c $< -o $@
$(B)/grader/grade: $(DRIVER_OBJS)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs jansson libxml-2.0)

programs:
	@for n in $(CHAPTERS); do \
	    $(SUBMAKE) -f grader/build.mk CH=$$n SRC=chapter$$n OUT=$(B)/chapter$$n progs || exit 1; \
	    $(SUBMAKE) -f grader/build.mk CH=$$n SRC=solutions/chapter$$n \
	        OUT=$(B)/solutions/chapter$$n TESTS=grader/tests/chapter$$n progs runner || exit 1; \
	done

COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(patsubst common/%.c,$(B)/common/%.o,$(COMMON_SRCS))
common-tests: $(B)/common/test_common
$(B)/common/%.o: common/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) -Icommon -c $< -o $@
$(B)/common/test_common.o: common/tests/test_common.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags check) -Icommon -c $< -o $@
$(B)/common/libcommon.a: $(COMMON_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(B)/common/test_common: $(B)/common/test_common.o $(B)/common/libcommon.a
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs check)

-include $(wildcard $(B)/grader/*.d $(B)/common/*.d)

# ---- grading and testing -----------------------------------------------------------------
GRADE_ARGS := $(if $(CH),--ch $(CH)) $(if $(T),--test $(T)) $(if $(SRC),--src $(SRC)) \
    $(if $(EX),--ex $(EX)) $(if $(filter 1,$(FAILED)),--failed $(B)/last-grade.json)

# `make grade` keeps its results in build/last-grade.json (what FAILED=1 re-runs) and, when it
# grades this checkout, merges them into build/progress.json: every test's latest result, for
# `make status`.
grade:
	@grader/grade $(GRADE_ARGS) --json $(B)/last-grade.json $(if $(SRC),,--progress $(B)/progress.json)

# One test under gdb: T=NAME (a test's name, or a part only it has), CH=N, SRC=DIR.
debug:
	@[ -n "$(T)" ] || { echo "debug: name a test: make debug T=name (as make grade lists it)" >&2; exit 2; }
	@grader/grade --debug '$(T)' $(if $(CH),--ch $(CH)) $(if $(SRC),--src $(SRC))

status:
	@grader/status

# one hint more each time (ALL=1: all of them)
hint:
	@grader/hint $(if $(filter 1,$(ALL)),--all) $(EX)

watch:
	@grader/watch $(CH) $(if $(T),--test $(T))

solutions:
	@grader/grade --src solutions --require-full $(if $(CH),--ch $(CH)) $(if $(T),--test $(T))

# FULL=1 adds the fault self-tests of chapters 3 to 5 (about five minutes more).
test:
	@SELFTEST_FULL=$(FULL) sh grader/selftest/run

# The mutation catalogue (grader/mutants/): faulty copies of the solutions must lose points,
# correct alternatives must not. CH=N or EX=N.M narrow it down.
mutants:
	@$(ENSURE_DEPS)
	@$(SUBMAKE) driver
	@sh grader/mutants/run $(if $(CH),--ch $(CH)) $(if $(EX),--ex $(EX))

# FORCE=1 lets it overwrite student files that hold changes (it refuses otherwise).
starters:
	@FORCE=$(FORCE) grader/mkstarters

# The zip a student uploads: exactly their files of chapter CH (default: all) and a manifest.
submission:
	@grader/mksubmission $(CH)

# Benchmarks (bench/run): the reference programs measured, CSV and PNG into bench/results/.
# Never part of `make test`: a benchmark measures, it does not pass or fail on speed.
# MINE=1 (or WHO=mine) measures the student's programs of build/chapterN/ beside the reference
# ones: only the reference programs are built here, the benchmark builds each student program
# itself, so that one that does not compile is reported and the rest goes on.
MINE ?= $(if $(filter mine,$(WHO)),1)
bench:
	@{ $(DEPS_OK) && command -v gnuplot >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; } || $(SUBMAKE) deps DEB_PKGS_EXTRA="$(BENCH_DEB_PKGS)"
	@if [ "$(MINE)" = 1 ]; then \
	    for n in $(CHAPTERS); do $(SUBMAKE) -f grader/build.mk CH=$$n SRC=solutions/chapter$$n \
	        OUT=$(B)/solutions/chapter$$n progs || exit 1; done; \
	else $(SUBMAKE) all; fi
	@BENCH_MINE=$(MINE) sh bench/run $(CH)

# The CPU profile of chapter 3's echosvr_v2 under load (tutorial section 3.5): gperftools and
# graphviz are installed the first time, the report and call graph go to build/profile/.
# VARIANT=copy4k or tutorial profiles another read callback; SIZE sets the message size.
PROFILE_TOOLS_OK := command -v google-pprof >/dev/null 2>&1 && command -v dot >/dev/null 2>&1 && \
    ldconfig -p 2>/dev/null | grep -q 'libprofiler\.so\.0 '
profile:
	@{ $(DEPS_OK) && $(PROFILE_TOOLS_OK); } || $(SUBMAKE) deps DEB_PKGS_EXTRA="$(PROFILE_DEB_PKGS)"
	@$(SUBMAKE) -f grader/build.mk CH=3 SRC=solutions/chapter3 OUT=$(B)/solutions/chapter3 progs
	@PROFILE_VARIANT=$(VARIANT) PROFILE_SIZE=$(SIZE) sh bench/profile.sh

asan:
	@$(ENSURE_DEPS)
	@sh grader/selftest/asan

# Gradescope's autograder zip: the committed tree (git archive HEAD) with setup.sh and
# run_autograder at its top (grader/gradescope/). CH=N: chapter N's alone (an assignment per
# chapter), in build/gradescope/autograder-chapterN.zip.
gradescope:
	@grader/gradescope/mkzip $(CH)

clean:
	rm -rf $(B)

help:
	@echo "svrlab make targets:"
	@echo "  make grade              build and grade your chapters 1-5 (installs packages if needed)"
	@echo "  make grade CH=3         grade chapter 3 only"
	@echo "  make grade CH=3 T=name  only the tests whose name contains 'name'"
	@echo "  make grade EX=1.2       only the tests of exercise 1.2"
	@echo "  make grade FAILED=1     only the tests that failed in the last grading"
	@echo "  make grade SRC=DIR      grade an upload in DIR (a checkout, chapter folders, files)"
	@echo "  make debug T=name       run test 'name' under gdb, stopped at its start, as a grading"
	@echo "                          runs it (CH=N: look in chapter N only)"
	@echo "  make status             your progress per chapter and exercise: each test's latest"
	@echo "                          result, when it ran, and what a later edit made stale"
	@echo "  make hint EX=1.2        the next hint of exercise 1.2 (each time one more, and how"
	@echo "                          many are left); ALL=1: all of them"
	@echo "  make watch CH=1         re-grade chapter 1 whenever you save one of its files"
	@echo "  make submission         the zip to upload: your files of every chapter and a manifest,"
	@echo "                          in build/submission.zip (CH=1: chapter 1's only)"
	@echo "  make solutions          grade the reference solutions (must get full marks)"
	@echo "  make                    build everything into build/"
	@echo "  make test               the project's own test suite (ends with 'N passed, M failed')"
	@echo "  make test FULL=1        ... with the fault self-tests of chapters 3-5 too (5 min more)"
	@echo "  make mutants            the mutation catalogue: faulty solutions must lose points"
	@echo "                          (CH=N, EX=N.M: one chapter or exercise)"
	@echo "  make asan               the tests built with AddressSanitizer and UBSan"
	@echo "  make bench              benchmarks of the reference programs: CSV and PNG plots in"
	@echo "                          bench/results/ (installs gnuplot-nox if needed)"
	@echo "  make bench CH=1         the benchmarks of chapter 1 only"
	@echo "  make bench CH=1 MINE=1  yours against ours: your programs beside the reference ones"
	@echo "  make profile            echosvr_v2 under load with the gperftools CPU profiler: a"
	@echo "                          report and a call graph in build/profile/ (installs them)"
	@echo "  make deps               install the Debian packages svrlab needs"
	@echo "  make gradescope         the Gradescope autograder zip, in build/gradescope/ (CH=N:"
	@echo "                          an assignment that grades chapter N alone)"
	@echo "  make clean              remove build/"
	@echo "  V=1                     show the commands"
	@echo "For people who change svrlab:"
	@echo "  make starters           regenerate chapterN/ from solutions/chapterN/ (refuses to"
	@echo "                          overwrite your changes to a student file unless FORCE=1)"
	@echo "The grader is also a program: grader/grade --help"
