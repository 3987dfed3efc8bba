# maillab — plain GNU make.  `make` builds every program into bin/,
# `make check` runs every test, `make demo` runs the chain, `make sanitize`
# runs the whole suite again under AddressSanitizer + UBSan.
#
# A program is any folder with a main.c: every .c in it is linked with
# lib/ (built once as a static library) into bin/<folder>.

PREFIX  ?= /usr/local
CC      ?= cc
BUILD   ?= build
BIN     ?= bin
VERSION := 0.1.0

PKGS    := libssl libcrypto libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lsodium)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifdef CI
WARN    += -Werror
endif
OPT     ?= -O2 -g
ifdef SAN
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN   := -fsanitize=address,undefined
endif
CPPFLAGS += -D_GNU_SOURCE -DMAILLAB_VERSION='"$(VERSION)"' -iquote lib
CFLAGS  += -std=c11 $(WARN) $(OPT) $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lresolv -lcrypt -lz
# --as-needed: a program loads only the libraries it uses (b64 never maps OpenSSL);
# Debian's gcc already does this, clang and other toolchains may not.
LDFLAGS += $(LDSAN) -Wl,--as-needed
ifdef SAN
# ASan defines crypt_r itself (an interceptor that calls the real one), so
# --as-needed would drop libcrypt and crypt_r would jump to NULL: keep it.
LDLIBS  := $(PKG_LIBS) -lresolv -Wl,--no-as-needed -lcrypt -Wl,--as-needed -lz
endif

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA    := $(BUILD)/libmaillab.a
PROGS   := $(sort $(patsubst %/main.c,%,$(wildcard */main.c)))
BINS    := $(PROGS:%=$(BIN)/%)
MANS    := $(wildcard $(PROGS:%=%/*.[1-8]))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# The labs' shell tools (maillab-user, maillab-check) go beside the programs,
# so that one PATH entry serves both, as after make install.
TOOLS   := $(filter-out %.1 %.5 %.7 %.8,$(wildcard labs/bin/*))
BIN_TOOLS := $(TOOLS:labs/bin/%=$(BIN)/%)

.PHONY: all check unit cli demo install deps sanitize fuzz lint fuzz-long fuzz-regress clean bench stress-imap check-labs install-sendmail deb check-deb
all: $(BINS) $(BIN_TOOLS)

$(BIN_TOOLS): $(BIN)/%: labs/bin/%
	@mkdir -p $(BIN)
	cp $< $@

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# One rule per program: bin/P depends on the objects of P/*.c.
define prog_rule
$(BIN)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) $(LIBA)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

# Unit tests link the program objects too (minus main.o), so a program's
# own modules can be tested; lib/ is always there.
# tests/unit/test_P.c for a program folder P also gets P's own objects
# (all but main.o).  A function, because '%' in a pattern rule's
# prerequisites would be taken as the stem.
test_objs = $(filter-out %/main.o,$(patsubst %.c,$(BUILD)/%.o,$(wildcard $(patsubst test_%,%,$(1))/*.c)))
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $(LIBA) $$(call test_objs,$$*)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $< \
	  $(filter %.o,$^) $(LIBA) $(CHECK_LIBS) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(wildcard $(BUILD)/*/*.d)

deps:
	@tests/deps.sh build test

# check's per-test timeouts (4 s unless a case sets its own) are multiplied
# for the slowest way CI runs them: 3 for a plain build, 10 under ASan+UBSan
# on two busy cores (sanitize sets CK_MULT).  A caller's own value wins.
CK_MULT ?= 3
unit: deps $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	  CK_FORK=yes CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-$(CK_MULT)} $$t; done

cli: deps all
	MAILLAB_BIN=$(abspath $(BIN)) bats --print-output-on-failure tests/cli

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory fuzz-regress
	@$(MAKE) --no-print-directory unit cli
	@$(MAKE) --no-print-directory check-labs

# The same suite, rebuilt with ASan + UBSan in its own build and bin dirs.
sanitize: deps
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=99 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 $(MAKE) --no-print-directory SAN=1 CK_MULT=10 BUILD=build-san BIN=bin-san unit cli

# Every lab sheet typed literally (labs/run-sheet): both languages hold the
# same runnable blocks, the French sheet typed as root, the English one as an
# unprivileged user (maillab-student, made if missing; not root: as yourself),
# then each lab's planted mistakes.  LABS=labs/01-smtp-by-hand for one lab.
LABS ?= $(sort $(wildcard labs/[0-9][0-9]-*))
check-labs: deps all
	@/usr/bin/python3 -S labs/run-sheet --all $(LABS)

lint:
	@for m in $(MANS) $(DOC_MANS); do mandoc -Tlint -W warning $$m || exit 1; done

demo: deps all
	@tests/demo.sh

fuzz: deps
	@tests/deps.sh fuzz
	@tests/fuzz/run.sh

# In make check: every harness built with clang, ASan and UBSan and run once
# on its seeds and on every input that once crashed it (tests/fuzz/regress/),
# no fuzzing; about a minute and a half on two cores.
fuzz-regress: deps
	@tests/deps.sh fuzz
	@FUZZ_REPLAY=1 FUZZ_BUILD=build-fuzz-regress tests/fuzz/run.sh

# Long campaign: every harness until its coverage has been flat for
# FUZZ_PLATEAU seconds (and half the run), at most FUZZ_SECS; one line per
# harness in build-fuzz/campaign.tsv, figures go to tests/fuzz/README.md.  Not part of make check.
# FUZZ_HELPERS=1 uses both cores (a second process on the same corpus); FUZZ_SAVE=1 keeps what the corpus adds in
# tests/fuzz/saved/NAME for the next campaign (tests/fuzz/run.sh).
fuzz-long: deps
	@tests/deps.sh fuzz
	@FUZZ_SECS=$${FUZZ_SECS:-1800} FUZZ_PLATEAU=$${FUZZ_PLATEAU:-300} tests/fuzz/run.sh

bench: all
	@for b in bench/*/run; do echo "== $$b"; $$b; done

# imaptest's stress mode against imapd and Dovecot side by side (root; not
# in make check: about 4 minutes).  STRESS="CLIENTS SECS [MODE...]".
stress-imap: all
	bench/imap/stress $(STRESS)

# What a lab machine needs: the programs, the lab tools (whatever labs/bin
# holds), maillab-demo, the man pages, the labs, the docs, and the inetd
# examples of lab 4 with the installed paths.
DOCS      := README.md DEVIATIONS.md docs/DESIGN.md docs/STYLE.md
DOC_MANS  := $(wildcard docs/*.[1-8] labs/bin/*.[1-8])
LAB_TOOLS := $(filter-out $(DOC_MANS),$(wildcard labs/bin/*))
SHARE     := $(DESTDIR)$(PREFIX)/share
EXAMPLES  := $(SHARE)/doc/maillab/examples
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/maillab/labs $(EXAMPLES)
	install -m 755 $(BINS) $(LAB_TOOLS) $(DESTDIR)$(PREFIX)/bin
	install -m 755 tests/demo.sh $(DESTDIR)$(PREFIX)/bin/maillab-demo
	@for m in $(MANS) $(DOC_MANS); do s=$${m##*.}; install -d $(SHARE)/man/man$$s; \
	  install -m 644 $$m $(SHARE)/man/man$$s; done
	tar -C labs --exclude=./bin --exclude=__pycache__ --exclude='*.pyc' -cf - . | \
	  tar -C $(SHARE)/maillab/labs --no-same-owner -xf -
	chmod -R u+rwX,go+rX,go-w $(SHARE)/maillab/labs
	install -m 644 $(DOCS) $(SHARE)/doc/maillab
	tar -C labs/04-inetd -cf - xinetd.d systemd inetd.conf | tar -C $(EXAMPLES) --no-same-owner -xf -
	find $(EXAMPLES) -type f -exec sed -i 's|/usr/local/bin/|$(PREFIX)/bin/|g' {} + -exec chmod 644 {} +

# A Debian package built with dpkg-deb alone (no network, no debian/ source
# tree): packaging/build-deb.sh; make check-deb installs it in a fresh
# Debian 12 chroot and runs the demo from the installed files (not part of
# make check: it downloads Debian once and needs root).
deb:
	@tests/deps.sh build deb
	@packaging/build-deb.sh $(VERSION)

check-deb: deb
	@packaging/check-deb.sh $(VERSION)

# smtp-send as sendmail(8) and mailq(1) for cron, mutt, PHP's mail(): links
# in $(PREFIX)/sbin, kept apart from install so as not to shadow an MTA's.
install-sendmail: install
	install -d $(DESTDIR)$(PREFIX)/sbin
	ln -sf $(PREFIX)/bin/smtp-send $(DESTDIR)$(PREFIX)/sbin/sendmail
	ln -sf $(PREFIX)/bin/smtp-send $(DESTDIR)$(PREFIX)/bin/mailq

clean:
	rm -rf build build-san bin bin-san
