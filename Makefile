# quietsync: the interface. Every target is a script under lab/ or tests/;
# each script decides itself whether its work is up to date.
#
#   make demo          build the lab kernel, boot it, show the IPI table
#                      (QS_ARCH=arm64: the arm64 kernel, cross-built;
#                      QS_BASE=7.3: the mainline series on Debian's 7.3)
#   make check         every test; ends with "N passed, N failed"
#   make check-NAME    one test suite alone (make list-checks names them)
#   make bench         every policy side by side, the stock kernel, scaling
#   make kernel-debug  the debug kernel (KASAN, lockdep) for the race stress
#   make model         check the formal model (spin) and the litmus tests (herd7)
#   make livepatch     build the livepatch (QS_LP_KERNEL=$(uname -r): for that kernel)
#   make tool          build quietsync-check (build/tool/quietsync-check)
#   make deb           the Debian packages (build/deb/), checked with lintian

SHELL := /bin/bash

.PHONY: all help deps source config config-dry-run kernel kernel-debug \
	initramfs demo bench \
	model livepatch tool deb check list-checks clean

all: help

help:
	@sed -n 's/^#   //p' Makefile

deps:
	lab/deps.sh

source: deps
	lab/source.sh

config: source
	lab/config.sh

config-dry-run:
	lab/config.sh --dry-run

kernel: config
	lab/build.sh

initramfs: source
	lab/initramfs.sh

demo: kernel initramfs
	lab/demo.sh

# configs/debug.config on top of the lab one, in its own object directory.
kernel-debug: source
	QS_CONFIGS="lab debug" QS_OBJ=$(CURDIR)/build/obj-x86_64-debug lab/config.sh
	QS_CONFIGS="lab debug" QS_OBJ=$(CURDIR)/build/obj-x86_64-debug lab/build.sh

bench: kernel
	lab/bench.sh

# Only the packaging tools (debhelper, dh-dkms, lintian; lab/deb.sh names
# the apt-get line when one is missing), not the lab's packages.
deb:
	lab/deb.sh

model: deps
	model/run.sh

livepatch: deps
	lab/livepatch.sh

tool:
	$(MAKE) -C tool O=$(CURDIR)/build/tool

check:
	tests/run.sh

list-checks:
	@tests/run.sh --list

check-%:
	tests/run.sh $*

clean:
	rm -rf build
