# common/flags.mk: compiler settings for every C file of the lab.
# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer; V=1 shows commands.

CC ?= cc
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -MMD -MP
LDFLAGS :=
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @printf '  %-6s %s\n'
endif
