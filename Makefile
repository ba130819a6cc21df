# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Build chain as in libbpf-bootstrap: bpf/%.bpf.c -> .output/%.bpf.o ->
# .output/%.skel.h (.lskel.h) -> .output/%.o -> sockops-cb
OUTPUT := .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
ARCH ?= $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/' \
			 | sed 's/ppc64le/powerpc/' | sed 's/mips.*/mips/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
# Where podman and CRI-O read hooks by default, whatever PREFIX is.
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
CNIBINDIR ?= /opt/cni/bin
VERSION := 0.1.0

CFLAGS ?= -g -O2
CFLAGS += -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	  -DSCB_VERSION='"$(VERSION)"'
INCLUDES := -I$(OUTPUT) -Ibpf -Ilib -Ioutput -Icmd
# libbpf, libelf and zlib linked in, as bpftool and libbpf-tools do: the
# hook is a process per container, and every shared object it maps costs
# page faults and relocations before main() (docs/performance.md).
# Debian ships no static cJSON; it stays shared.
LDLIBS := -Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic -lcjson
# BPF sees the host's uapi headers only through -idirafter, as
# libbpf-bootstrap does, so vmlinux.h types win.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BIN := sockops-cb
BPF_SRCS := bpf/sockops.bpf.c bpf/iters.bpf.c bpf/trace.bpf.c
# Every header a BPF object may include: a change rebuilds them all.
BPF_HDRS := $(wildcard bpf/*.h)
# The program through a light skeleton where the kernel does CO-RE itself
# (5.17+: no parse of the kernel's BTF at the first container), through
# an ordinary one (libbpf relocates) elsewhere; the iterators and the
# trace program, loaded for single commands, through ordinary ones.
SKELS := $(OUTPUT)/sockops.lskel.h $(OUTPUT)/sockops_core.skel.h \
	 $(OUTPUT)/iters.skel.h $(OUTPUT)/trace.skel.h
# lib/: the library (the node, targets, counters, config, kernel probes,
# parsing); output/: formatting (tables, JSON lines, Prometheus text,
# plots); both in libsockops-cb.a, which the unit tests link. cmd/: one
# file per command, argument parsing and library calls.
LIB_SRCS := $(wildcard lib/*.c output/*.c)
CMD_SRCS := $(wildcard cmd/*.c)
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
CMD_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(CMD_SRCS))
LIBSCB := $(OUTPUT)/libsockops-cb.a
HDRS := $(wildcard lib/*.h output/*.h cmd/*.h) bpf/sockops.h bpf/rtthist.h
UNIT_SRCS := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(patsubst test/unit/%.c,test/unit/%.t,$(UNIT_SRCS))

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s%s\n' "$(1)" "$(patsubst $(abspath $(OUTPUT))/%,%,$(2))" \
		"$(if $(3), $(3))";
	MAKEFLAGS += --no-print-directory
endif

.PHONY: all
all: $(BIN)

$(OUTPUT) $(OUTPUT)/cni:
	$(call msg,MKDIR,$@)
	$(Q)mkdir -p $@

# vmlinux.h is kept per architecture in the tree (bpf/vmlinux/ARCH/, dumped
# from a 6.18 kernel's BTF), as libbpf-bootstrap does: the build does not
# depend on the build host's kernel, and CO-RE relocations (checked with
# bpf_core_field_exists where a field changed) fit the object to each
# kernel from 5.10. An architecture without a copy uses the host's BTF.
VMLINUX_H := $(wildcard bpf/vmlinux/$(ARCH)/vmlinux.h)
$(OUTPUT)/vmlinux.h: $(VMLINUX_H) | $(OUTPUT)
	$(call msg,VMLINUX,$@)
ifneq ($(VMLINUX_H),)
	$(Q)cp $(VMLINUX_H) $@
else
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
endif

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	@# -mcpu=v3: 32-bit atomics (refused bits, state counters) need it.
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(INCLUDES) \
		$(CLANG_BPF_SYS_INCLUDES) -c $(filter %.c,$^) -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# The same object as sockops.lskel.h, under another name: both skeletons
# are linked in.
$(OUTPUT)/sockops_core.skel.h: $(OUTPUT)/sockops.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name sockops_core > $@

$(OUTPUT)/%.lskel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton -L $< > $@

# The BPF sources' hash names the program: pins of another version are
# refused. (Not the object's: it embeds the build directory.)
$(OUTPUT)/bpf_id.h: $(BPF_SRCS) $(BPF_HDRS) | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)echo "#define SCB_BPF_ID 0x$$(cat $^ | sha256sum | cut -c1-16)ULL" > $@

# C objects wait for the skeleton they include.
$(LIB_OBJS) $(CMD_OBJS): $(SKELS) $(OUTPUT)/bpf_id.h

$(OUTPUT)/%.o: %.c $(HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(LIBSCB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(CMD_OBJS) $(LIBSCB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@
	$(Q)mkdir -p $(OUTPUT)/cni && ln -sf ../../$(BIN) $(OUTPUT)/cni/$(BIN)

test/unit/%.t: test/unit/%.c test/unit/tap.h $(LIBSCB)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $< $(LIBSCB) $(LDLIBS) -o $@

# Sanitizer builds of the library objects: unit tests under ASan+UBSan
# (make check-sanitize, run by make test) and libFuzzer harnesses (make fuzz).
SAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	     -fno-sanitize-recover=undefined
SAN_OBJS := $(patsubst $(OUTPUT)/%.o,$(OUTPUT)/san/%.o,$(LIB_OBJS))
SAN_LIB := $(OUTPUT)/san/libsockops-cb.a
SAN_UNIT_BINS := $(patsubst test/unit/%.c,$(OUTPUT)/san/%.t,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst test/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

$(OUTPUT)/san $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/san/%.o: %.c $(HDRS) $(SKELS) $(OUTPUT)/bpf_id.h | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_FLAGS) -fsanitize=fuzzer-no-link -Wall -D_GNU_SOURCE \
		-DSCB_VERSION='"$(VERSION)"' $(INCLUDES) -c $< -o $@

$(SAN_LIB): $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/san/%.t: test/unit/%.c test/unit/tap.h $(SAN_LIB) | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CLANG) $(SAN_FLAGS) -D_GNU_SOURCE $(INCLUDES) $< $(SAN_LIB) $(LDLIBS) -o $@

$(OUTPUT)/fuzz/%: test/fuzz/%.c $(SAN_LIB) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(SAN_FLAGS) -fsanitize=fuzzer -D_GNU_SOURCE $(INCLUDES) $< $(SAN_LIB) $(LDLIBS) -o $@

.PHONY: check-sanitize
check-sanitize: $(SAN_UNIT_BINS) $(UNIT_BINS)
	$(Q)test/run.sh --unit-only --sanitize

.PHONY: fuzz
fuzz: deps
	$(Q)$(MAKE) $(FUZZ_BINS)
	$(Q)test/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

.PHONY: deps
deps:
	$(Q)test/setup.sh

.PHONY: test-unit
test-unit: $(UNIT_BINS)
	$(Q)test/run.sh --unit-only

.PHONY: test-bats
test-bats: $(BIN)
	$(Q)test/run.sh --bats-only

# The kernel matrix: Debian's 5.10, 6.1 and 6.12 in qemu, the kernel
# contract in each (test/kernels/); FULL=1 runs the README's two commands
# there too (`make test MATRIX=0`), KERNELS="6.1" picks kernels.
.PHONY: test-kernels
test-kernels:
	$(Q)FULL=$(FULL) test/kernels/run.sh $(KERNELS)

# MATRIX=0 leaves the kernel matrix out: a guest of the matrix runs the
# rest (qemu under TCG inside qemu under TCG would take hours).
MATRIX ?= 1
.PHONY: test
test: deps
	$(Q)$(MAKE) $(BIN) $(UNIT_BINS) $(SAN_UNIT_BINS)
	$(Q)test/run.sh --sanitize $(if $(filter 0,$(MATRIX)),,--kernels)

.PHONY: demo
demo: deps
	$(Q)$(MAKE) $(BIN)
	$(Q)test/demo.sh

.PHONY: bench
bench: deps
	$(Q)$(MAKE) $(BIN)
	$(Q)bench/run.sh

.PHONY: install
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/$(BIN)
	@# An admin's config survives reinstalls.
	[ -e $(DESTDIR)$(SYSCONFDIR)/sockops-cb/config.json ] || \
		install -D -m 0644 examples/config.json $(DESTDIR)$(SYSCONFDIR)/sockops-cb/config.json
	install -d $(DESTDIR)$(HOOKSDIR)
	for h in hooks/*.json; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
			$$h > $(DESTDIR)$(HOOKSDIR)/$$(basename $$h); \
	done
	install -d $(DESTDIR)$(CNIBINDIR)
	ln -sf $(BINDIR)/$(BIN) $(DESTDIR)$(CNIBINDIR)/$(BIN)

# Everything install wrote but the admin's config, which may have been
# edited: remove $(SYSCONFDIR)/sockops-cb by hand if wanted.
.PHONY: uninstall
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(BIN) $(DESTDIR)$(CNIBINDIR)/$(BIN)
	for h in hooks/*.json; do rm -f $(DESTDIR)$(HOOKSDIR)/$$(basename $$h); done
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/sockops-cb/config.json (yours to remove)"

.PHONY: clean
clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) $(BIN) test/unit/*.t

# delete failed targets
.DELETE_ON_ERROR:

# keep intermediate (.skel.h, .bpf.o, etc) targets
.SECONDARY:
