# guise — set-up, tests, demo, benchmarks.
# Everything the tests need is installed from here (Debian packages with apt-get,
# Python packages into .venv), so `make test` works on a fresh Debian 12 machine as root.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
CACHE   := .cache
STAMPS  := $(CACHE)/stamps
APT     := DEBIAN_FRONTEND=noninteractive apt-get -y -q
JOBS    ?= 2

# Debian packages the test suite runs or compares against; fuse3 (fusermount3) and
# libfuse2 (the library fusepy loads) are what `guise zone mount` needs; wine64 is the
# reference the Windows personality is compared with (and ships real PE programs);
# linux-image-cloud-amd64 is the kernel the virtual PC boots; e2fsprogs makes its test disk;
# gzip, bzip2, xz-utils, lz4, zstd and lzop compress test kernels the way the kernel's build does.
TEST_DEBS := busybox-static gawk perl coreutils grep sed python3 libc6-i386 make fuse3 libfuse2 \
             wine64 linux-image-cloud-amd64 e2fsprogs gzip bzip2 xz-utils lz4 zstd lzop
BENCH_DEBS := qemu-user qemu-system-x86 wine64

.PHONY: all install demo test fuzz soak bench samples docs clean deps-test deps-bench busybox-i386

all: install

$(STAMPS):
	mkdir -p $(STAMPS)

# A partial failure (a mirror mid-sync for one index) leaves usable lists: go on.
$(STAMPS)/apt-update: | $(STAMPS)
	$(APT) update || echo "warning: apt-get update reported errors; continuing with the lists it has"
	touch $@

# A Python with venv+pip: Debian's python3 lacks them until python3-venv is installed.
$(STAMPS)/python-venv: | $(STAMPS)
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { $(MAKE) $(STAMPS)/apt-update && $(APT) install python3-venv python3-pip; }
	touch $@

$(VENV)/.installed: pyproject.toml $(STAMPS)/python-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# compat mode: a plain .pth path entry; the default editable finder costs ~10 ms per start
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat
	@# byte-compile now: with PYTHONDONTWRITEBYTECODE set (as on these machines) every
	@# guise start would otherwise recompile ~130 modules
	$(PY) -m compileall -q $(VENV)/lib guise hw loader personalities sandbox >/dev/null || true
	touch $@

install: $(VENV)/.installed

$(STAMPS)/deps-test: Makefile | $(STAMPS)
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(MAKE) $(STAMPS)/apt-update && $(APT) install $$missing; fi
	touch $@

# Debian's i386 busybox-static, unpacked (not installed) under .cache.
$(CACHE)/busybox-i386/bin/busybox: | $(STAMPS)
	dpkg --print-foreign-architectures | grep -qx i386 || { dpkg --add-architecture i386 && rm -f $(STAMPS)/apt-update; }
	$(MAKE) $(STAMPS)/apt-update
	rm -rf $(CACHE)/busybox-i386 $(CACHE)/deb-i386 && mkdir -p $(CACHE)/deb-i386
	cd $(CACHE)/deb-i386 && apt-get download busybox-static:i386
	dpkg -x $(CACHE)/deb-i386/busybox-static_*_i386.deb $(CACHE)/busybox-i386
	test -x $@

busybox-i386: $(CACHE)/busybox-i386/bin/busybox

deps-test: $(STAMPS)/deps-test busybox-i386

demo: install deps-test
	@echo "== guise run -- samples/bin/hello-static-x86_64"
	$(VENV)/bin/guise run -- samples/bin/hello-static-x86_64
	@echo "== the same program built for i386 and dynamically linked"
	$(VENV)/bin/guise run -- samples/bin/hello-dynamic-glibc-i386
	@echo "== the host's own ls, on the emulated CPU"
	$(VENV)/bin/guise run -- /bin/ls -l samples/README.md
	@echo "== the host's python3, and a shell pipeline (fork, exec, pipes)"
	$(VENV)/bin/guise run -- /usr/bin/python3 -c 'import hashlib; print(hashlib.sha256(b"x").hexdigest())'
	$(VENV)/bin/guise run -- /bin/sh -c 'ls /etc | wc -l'
	@echo "== guise info"
	$(VENV)/bin/guise info samples/bin/hello-dynamic-glibc-x86_64

test: install deps-test
	$(PY) -m pytest -q -n $(JOBS) -m "not slow" tests

# the ELF and PE loader fuzzers with 20000 examples each (make test runs them with ~1000)
fuzz: install deps-test
	GUISE_FUZZ_EXAMPLES=20000 $(PY) -m pytest -q -n $(JOBS) tests/test_fuzz_elf.py tests/test_fuzz_pe.py

# the fuzzers, then the Debian kernel's boot on KVM with a long timeout (on a software
# KVM such as PVM it runs for many minutes and may not finish; the test prints what happened)
soak: fuzz
	GUISE_KVM_SOAK=1 GUISE_KVM_SOAK_TIMEOUT=3000 $(PY) -m pytest -q -s -rxXs -m slow tests/test_vm_kvm.py

$(STAMPS)/deps-bench: | $(STAMPS)
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(MAKE) $(STAMPS)/apt-update && $(APT) install $$missing; fi
	touch $@

# Qiling is a peer to measure against, never a dependency of guise: its own venv.
QILING_VENV := bench/.peers/qiling-venv
$(QILING_VENV)/.installed: $(STAMPS)/python-venv
	$(PYTHON) -m venv $(QILING_VENV)
	$(QILING_VENV)/bin/pip install -q qiling
	touch $@

# Speakeasy (Mandiant's Windows emulator), the Windows rows' peer, likewise
SPEAKEASY_VENV := bench/.peers/speakeasy-venv
$(SPEAKEASY_VENV)/.installed: $(STAMPS)/python-venv
	$(PYTHON) -m venv $(SPEAKEASY_VENV)
	$(SPEAKEASY_VENV)/bin/pip install -q speakeasy-emulator
	touch $@

deps-bench: $(STAMPS)/deps-bench $(QILING_VENV)/.installed $(SPEAKEASY_VENV)/.installed

bench: install deps-bench
	$(PY) bench/run.py --out bench/results.md

samples:
	$(MAKE) -C samples deps
	$(MAKE) -C samples

docs: install
	$(PY) tools/gen_compat.py

clean:
	rm -rf $(VENV) $(CACHE) .pytest_cache
