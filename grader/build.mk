# grader/build.mk: builds one chapter's programs and, when TESTS is set, its test runner.
#
#   make -f grader/build.mk CH=1 SRC=chapter1 OUT=build/chapter1 [TESTS=grader/tests/chapter1]
#
# The top-level Makefile uses it for chapterN/ and solutions/chapterN/, and the grader uses it
# in its temporary tree, so a chapter is built the same way everywhere. What a chapter builds
# is data: grader/chapters/chapterN.mk.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
include $(ROOT)/common/flags.mk
include $(ROOT)/grader/chapters/chapter$(CH).mk

SRC := $(abspath $(SRC))
OUT := $(abspath $(OUT))
PKG_CFLAGS := $(if $(strip $(pkgs)),$(shell pkg-config --cflags $(pkgs)))
PKG_LIBS := $(if $(strip $(pkgs)),$(shell pkg-config --libs $(pkgs)))

common_objs := $(patsubst $(ROOT)/common/%.c,$(OUT)/common/%.o,$(wildcard $(ROOT)/common/*.c))
obj = $(addprefix $(OUT)/obj/,$(1:.c=.o))
# common/ as an archive: a program takes only the modules it uses (chapter 1's programs do not
# link evserver, so they do not need libevent).
common_lib := $(OUT)/common/libcommon.a
# Sources taken from an earlier chapter's reference solution (chapter data: `prior_chapter := 4`,
# `prior_srcs := shm.c ...`): what a chapter builds on without making the student's earlier
# work a condition of this chapter's grade. They form an archive linked after the chapter's own
# objects, and their headers are found after the chapter's own. A program whose main() (or
# any part two programs define differently) comes from the earlier chapter names those sources
# in `P_prior := md.c ...`: they are linked into P as objects, ahead of the archive (from an
# archive, the linker would take the first main() it finds, whichever program's it is).
# `make prior` builds them into $(OUT)/prior/ with the earlier chapter's headers in
# $(OUT)/prior/include/; the grader does so as root, and its build of the student's code (as
# a user that can not read the reference sources) takes them from there: PRIOR_BUILT=that
# folder, which has no rules, so its files are used as they are.
prior_dir := $(ROOT)/solutions/chapter$(prior_chapter)
prior_out := $(if $(PRIOR_BUILT),$(abspath $(PRIOR_BUILT)),$(OUT)/prior)
prior_lib := $(if $(strip $(prior_srcs)),$(prior_out)/libprior.a)
prior_hdrs := $(if $(PRIOR_BUILT),$(prior_out)/include,$(prior_dir))
prior_inc := $(if $(strip $(prior_srcs)),-I$(prior_hdrs))

# A student's file is compiled by grader/studentcc: what it reads must be the chapter's own
# files, common/, the headers of the earlier chapter it builds on, or the system's, and its
# assembly may not read files (.incbin). (real paths: the compiler's list is made real before
# it is compared)
allowed = '$(realpath $(SRC))/*' '$(realpath $(ROOT))/common/*' \
	$(if $(prior_inc),'$(realpath $(prior_hdrs))/*.h')
studentcc = $(ROOT)/grader/studentcc $< $@ $(CC)
# ... and for the grader's tests, which include the student's headers, also the grader's files
depcheck_tests = $(ROOT)/grader/depcheck $@ $(allowed) '$(realpath $(TESTS))/*' \
	'$(realpath $(ROOT))/grader/lib/*'

.PHONY: progs runner student-files prog-names prior
progs: $(addprefix $(OUT)/,$(progs))

prior: $(prior_lib) $(foreach p,$(progs),$(addprefix $(prior_out)/,$($(p)_prior:.c=.o)))
	$(if $(prior_lib),$(Q)mkdir -p $(prior_out)/include && cp $(prior_dir)/*.h $(prior_out)/include/)

student-files:
	@echo $(student)

prog-names:
	@echo $(sort $(progs))

$(OUT)/common/%.o: $(ROOT)/common/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) -I$(ROOT)/common -c $< -o $@

$(common_lib): $(common_objs)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUT)/prior/libprior.a: $(addprefix $(OUT)/prior/,$(prior_srcs:.c=.o))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUT)/prior/%.o: $(prior_dir)/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -I$(prior_dir) -I$(ROOT)/common -c $< -o $@

$(OUT)/obj/%.o: $(SRC)/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(studentcc) $(CFLAGS) $(PKG_CFLAGS) -I$(SRC) $(prior_inc) -I$(ROOT)/common -- $(allowed)

define prog_rule
$(OUT)/$(1): $(call obj,$($(1)_srcs)) $(addprefix $(prior_out)/,$($(1)_prior:.c=.o)) $(prior_lib) $(common_lib)
	$$(say) LD $$@
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach p,$(progs),$(eval $(call prog_rule,$(p))))

ifneq ($(TESTS),)
TESTS := $(abspath $(TESTS))
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS := $(shell pkg-config --libs check)
test_objs := $(patsubst $(TESTS)/%.c,$(OUT)/tests/%.o,$(wildcard $(TESTS)/*.c))
gt_objs := $(patsubst $(ROOT)/grader/lib/%.c,$(OUT)/gt/%.o,$(wildcard $(ROOT)/grader/lib/*.c))

# The system libraries' names for the link check, found once per build (and kept with the
# grader's cached reference build, given-objs below) instead of once per link.
sysnames := $(OUT)/sysnames.txt
linkcheck = $(ROOT)/grader/linkcheck --sysnames $(sysnames)
$(sysnames):
	@mkdir -p $(@D)
	$(Q)$(ROOT)/grader/linkcheck --print-sysnames >$@.tmp && mv $@.tmp $@

runner: $(OUT)/runner
$(OUT)/runner: $(test_objs) $(gt_objs) $(call obj,$(testlib)) $(prior_lib) $(common_lib) | $(sysnames)
	$(if $(filter 1,$(SAN)),,$(Q)$(linkcheck) $(call obj,$(testlib)) -- $(test_objs) $(gt_objs))
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

$(OUT)/tests/%.o: $(TESTS)/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(CHECK_CFLAGS) $(PKG_CFLAGS) -I$(SRC) $(prior_inc) -I$(ROOT)/common -I$(ROOT)/grader/lib -c $< -o $@
	$(Q)$(depcheck_tests)

$(OUT)/gt/%.o: $(ROOT)/grader/lib/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(CHECK_CFLAGS) -I$(ROOT)/common -I$(ROOT)/grader/lib -c $< -o $@

# ThreadSanitizer programs that tests run (chapter data: `tsan_progs := P`, `P_srcs := the
# student's files`): P is the test's main $(TESTS)/tsan/P.c with the student's P_srcs and
# common/, all built with -fsanitize=thread (no -Werror: gcc warns that TSan ignores fences).
tsan_cflags := $(filter-out -fsanitize=% -fno-sanitize-recover=% -Werror,$(CFLAGS)) -fsanitize=thread -Wno-tsan
tsan_common := $(patsubst $(ROOT)/common/%.c,$(OUT)/tsan/common/%.o,$(wildcard $(ROOT)/common/*.c))
runner: $(addprefix $(OUT)/,$(tsan_progs))

$(OUT)/tsan/common/%.o: $(ROOT)/common/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(tsan_cflags) $(PKG_CFLAGS) -I$(ROOT)/common -c $< -o $@

$(OUT)/tsan/src/%.o: $(SRC)/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(studentcc) $(tsan_cflags) $(PKG_CFLAGS) -I$(SRC) -I$(ROOT)/common -- $(allowed)

$(OUT)/tsan/tests/%.o: $(TESTS)/tsan/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(tsan_cflags) $(PKG_CFLAGS) -I$(SRC) -I$(ROOT)/common -c $< -o $@
	$(Q)$(depcheck_tests)

$(OUT)/tsan/libcommon.a: $(tsan_common)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

define tsan_rule
$(OUT)/$(1): $(OUT)/tsan/tests/$(1).o $(addprefix $(OUT)/tsan/src/,$($(1)_srcs:.c=.o)) $(OUT)/tsan/libcommon.a | $(sysnames)
	$$(Q)$(linkcheck) --tsan $(addprefix $(OUT)/tsan/src/,$($(1)_srcs:.c=.o)) -- $(OUT)/tsan/tests/$(1).o
	$$(say) LD $$@
	$$(Q)$$(CC) -fsanitize=thread -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach p,$(tsan_progs),$(eval $(call tsan_rule,$(p))))

# Plain programs that tests run (chapter data: `test_progs := P`, `P_srcs := the student's
# files`): P is the test's main $(TESTS)/progs/P.c with the student's P_srcs, built without the
# sanitizers even under SAN=1, since tests run them under valgrind.
plain_cflags := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS))
runner: $(addprefix $(OUT)/,$(test_progs))

$(OUT)/plain/src/%.o: $(SRC)/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(studentcc) $(plain_cflags) $(PKG_CFLAGS) -I$(SRC) $(prior_inc) -I$(ROOT)/common -- $(allowed)

$(OUT)/plain/tests/%.o: $(TESTS)/progs/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(plain_cflags) $(PKG_CFLAGS) -I$(SRC) $(prior_inc) -I$(ROOT)/common -c $< -o $@
	$(Q)$(depcheck_tests)

define test_prog_rule
$(OUT)/$(1): $(OUT)/plain/tests/$(1).o $(addprefix $(OUT)/plain/src/,$($(1)_srcs:.c=.o)) | $(sysnames)
	$$(Q)$(linkcheck) $(addprefix $(OUT)/plain/src/,$($(1)_srcs:.c=.o)) -- $(OUT)/plain/tests/$(1).o
	$$(say) LD $$@
	$$(Q)$$(CC) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach p,$(test_progs),$(eval $(call test_prog_rule,$(p))))

# What the runner takes from the grader alone: its tests, the test library and common/, in every
# flavour the chapter needs. None of it reads a student's file (a chapter's headers are given,
# never the student's), so the grader builds it with the reference programs (as root, cached
# with them) and copies it into the student's build, which then compiles the student's files.
.PHONY: given-objs
given-objs: $(test_objs) $(gt_objs) $(common_lib) $(sysnames) \
	$(if $(strip $(tsan_progs)),$(OUT)/tsan/libcommon.a $(patsubst %,$(OUT)/tsan/tests/%.o,$(tsan_progs))) \
	$(patsubst %,$(OUT)/plain/tests/%.o,$(test_progs))
endif

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
