#!/usr/bin/env bash
# The Debian packages (issues "A Debian package", "The operator's path"):
# make deb builds quietsync-check (amd64, and arm64 cross-built),
# quietsync and quietsync-dkms, lintian reports no error or warning; each
# package holds what it should, with debian/changelog's version; dkms.conf
# builds for the covered kernel lines and no other kernel; the unit's
# helper says "not covered" on another kernel, names each line's headers
# metapackage, and its kernel hook warns of a covered kernel installed
# without headers and of nothing else.
#
# Then two real Debian machines (lab/image.sh), Debian 13 (trixie, its
# 6.12 line) and Debian 12 (bookworm, its default 6.1 line): the previous
# stock release of the line (P) installed as an operator would (amd64 with
# the headers metapackage, rt-amd64 with the running kernel's headers
# only); on Debian 13 quietsync 0.1 (built from this repository's history)
# installed with apt and this version over it, on Debian 12 this version
# afresh, all built on this Debian 12 host; then `apt upgrade` brings the
# newest release (N): DKMS builds for N-amd64 and no warning names it;
# N-rt-amd64 comes without headers and the hook's warning names what to
# install. Each booted from its own root file system (lab/vm.sh, QS_DISK,
# isolcpus=1-3 nohz_full=1-3 rcu_nocbs=1-3; guest/package-test):
#   protected  N-amd64: the unit loaded the livepatch before
#              sysinit.target; "fix active and verified", exit 0; --status
#              "fix missing" naming N-rt-amd64's headers; restart and stop
#              keep the livepatch; apt-get remove: unloaded, nothing left
#              to load it, "exposed", exit 1; apt-get purge: no file left
#   optout     N-amd64 with quietsync=off: the unit did not run,
#              "exposed", exit 1; on Debian 13 the checker's roles side by
#              side (CPU 2 isolcpus= only), under the livepatch's flushed
#              rule (no sync IPI anywhere) and its quiet rule (loaded
#              with test_flush=paravirt: CPU 2 hit, named)
#   nomodule   N-rt-amd64: the unit failed at error priority naming the
#              headers; --status and the check say so (exit 1); the
#              headers installed with apt inside the booted system, DKMS
#              builds, systemctl restart: "fix active and verified" (the
#              hugetlb-unshare load); on Debian 13 then off and on at run
#              time beside a task spinning on each isolated CPU
#              (SCHED_OTHER; SCHED_FIFO with RT throttling off): timed,
#              interrupts counted, bounded
# build/report/package.json has the figures; README's table is made from
# it (lab/package-table.sh) and checked against it. The covered lines it
# does not upgrade (Debian 13's 7.3, Debian 12's 6.12) are skipped with
# what the archive holds of them.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lab/env.sh
. lab/env.sh
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/archive.sh
. lab/archive.sh

OUT=$QS_BUILD/package

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
deb=$QS_BUILD/deb/quietsync_${version}_amd64.deb
check_deb=$QS_BUILD/deb/quietsync-check_${version}_amd64.deb
check_arm64_deb=$QS_BUILD/deb/quietsync-check_${version}_arm64.deb
dkms_deb=$QS_BUILD/deb/quietsync-dkms_${version}_all.deb
helper=livepatch/quietsync-livepatch

# has_file DEB PATH_REGEX: the package holds a file matching PATH_REGEX.
# shellcheck disable=SC2317 # called through t_expect
has_file() {
	dpkg-deb -c "$1" | awk '{ print $NF }' | grep -E "^\./$2\$"
}

check_contents() {
	local rel
	t_expect "quietsync-check holds /usr/sbin/quietsync-check" 0 quietsync-check \
		has_file "$check_deb" usr/sbin/quietsync-check
	t_expect "quietsync-check holds the manual page, section 8" 0 'man8' \
		has_file "$check_deb" usr/share/man/man8/quietsync-check\\.8\\.gz
	t_expect "quietsync-check depends on the C library alone" 0 '^libc6 \(>= [0-9.]+\)$' \
		dpkg-deb -f "$check_deb" Depends
	t_expect "quietsync-check takes over the tool from quietsync 0.1 (Breaks, Replaces)" 0 \
		'^quietsync \(<< 0\.2~\) quietsync \(<< 0\.2~\)$' \
		bash -c "echo \$(dpkg-deb -f '$check_deb' Breaks) \$(dpkg-deb -f '$check_deb' Replaces)"
	t_expect "quietsync-check for arm64: an aarch64 binary, the C library alone" 0 \
		'^arm64 libc6 \(>= [0-9.]+\) .*ARM aarch64' \
		bash -c "x=\$(mktemp -d) && dpkg-deb -x '$check_arm64_deb' \$x &&
			echo \$(dpkg-deb -f '$check_arm64_deb' Architecture) \$(dpkg-deb -f '$check_arm64_deb' Depends) \
			\$(file -b \$x/usr/sbin/quietsync-check); rm -rf \$x"
	t_expect "quietsync holds quietsync.service" 0 quietsync.service \
		has_file "$deb" '(usr/)?lib/systemd/system/quietsync\.service'
	t_expect "quietsync holds the kernel hook" 0 postinst \
		has_file "$deb" etc/kernel/postinst\\.d/quietsync
	t_expect "quietsync holds quietsync.service(8)" 0 man8 \
		has_file "$deb" usr/share/man/man8/quietsync\\.service\\.8\\.gz
	t_expect "quietsync depends on the tool and the DKMS source of its version" 0 \
		"quietsync-check \\(= ${version//./\\.}\\), quietsync-dkms \\(= ${version//./\\.}\\)" \
		dpkg-deb -f "$deb" Depends
	t_expect "quietsync-dkms holds the source and dkms.conf under /usr/src/quietsync-$version" 0 dkms.conf \
		has_file "$dkms_deb" "usr/src/quietsync-${version//./\\.}/dkms\\.conf"
	for rel in 6.1 6.12 7.3; do
		t_expect "quietsync-dkms holds the rule for Linux $rel" 0 quiet_rule \
			has_file "$dkms_deb" "usr/src/quietsync-${version//./\\.}/rules/${rel//./\\.}/quiet_rule\\.h"
	done
	t_expect "the manual pages have no groff warning" 0 '' \
		bash -c "man --warnings -l tool/quietsync-check.8 livepatch/quietsync.service.8 2>&1 > /dev/null | { ! grep .; }"
}

check_versions() {
	local x=$OUT/deb-x
	rm -rf "$x"
	dpkg-deb -x "$deb" "$x"
	dpkg-deb -x "$check_deb" "$x"
	dpkg-deb -x "$dkms_deb" "$x"
	t_expect "the packages' version is debian/changelog's ($version)" 0 "^$version $version $version\$" \
		bash -c "echo \$(dpkg-deb -f '$deb' Version) \$(dpkg-deb -f '$check_deb' Version) \$(dpkg-deb -f '$dkms_deb' Version)"
	t_expect "quietsync-check --version says $version" 0 "^quietsync-check $version\$" \
		"$x/usr/sbin/quietsync-check" --version
	t_expect "dkms.conf has version $version, AUTOINSTALL unset (quietsync's kernel hooks build; Debian 12's dkms takes \"no\" as yes)" 0 "^$version unset\$" \
		bash -c ". '$x/usr/src/quietsync-$version/dkms.conf' && echo \"\$PACKAGE_VERSION \${AUTOINSTALL:-unset}\""
}

# dkms.conf's BUILD_EXCLUSIVE_KERNEL takes Debian's releases of the covered
# lines in both flavours, and nothing else: other flavours, arches, lines,
# this host's kernel.
check_coverage() {
	local conf=$OUT/deb-x/usr/src/quietsync-$version/dkms.conf regex rel
	regex=$(bash -c ". '$conf' && echo \"\$BUILD_EXCLUSIVE_KERNEL\"")
	for rel in 6.1.0-57-amd64 6.1.0-57-rt-amd64 6.12.117+deb12-amd64 6.12.117+deb12-rt-amd64 \
		6.12.118+deb13-amd64 6.12.118+deb13-rt-amd64 7.3.4+deb13-amd64 7.3.4+deb13-rt-amd64; do
		if [[ $rel =~ $regex ]]; then
			t_pass "dkms.conf builds for $rel"
		else
			t_fail "dkms.conf builds for $rel" "/$regex/ does not match"
		fi
	done
	for rel in 6.1.0-57-cloud-amd64 6.12.118+deb13-cloud-amd64 6.12.118+deb13-arm64 \
		6.16.12+deb13-amd64 6.12.118+deb13-amd64-custom "$(uname -r)"; do
		if [[ $rel =~ $regex ]]; then
			t_fail "dkms.conf does not build for $rel" "/$regex/ matches"
		else
			t_pass "dkms.conf does not build for $rel"
		fi
	done
	t_expect "the unit's condition on this host's kernel ($(uname -r)): \"not covered\", exit 1" 1 \
		"^quietsync: kernel $(uname -r) is not covered \(the livepatch covers Debian's 6\.1 6\.12 7\.3 lines, amd64 and rt-amd64\): nothing to load\$" \
		env QUIETSYNC_KERNELS=livepatch/kernels.txt "$helper" covered
	t_expect "the unit's helper refuses an unknown action" 2 '^usage: quietsync-livepatch covered\|start\|off' \
		"$helper" reload
}

# The headers each line needs: the release's own and the metapackage that
# follows the line (bookworm's 6.12 has its own; 7.3 comes from backports).
check_headers() {
	local rel want
	while read -r rel want; do
		t_expect "the headers $rel needs: $want" 0 "^${want//+/\\+}\$" \
			env QUIETSYNC_KERNELS=livepatch/kernels.txt "$helper" headers "$rel"
	done <<-EOF
	6.1.0-57-amd64 apt install linux-headers-6.1.0-57-amd64 linux-headers-amd64
	6.1.0-57-rt-amd64 apt install linux-headers-6.1.0-57-rt-amd64 linux-headers-rt-amd64
	6.12.118+deb12-amd64 apt install linux-headers-6.12.118+deb12-amd64 linux-headers-6.12-amd64
	6.12.118+deb12-rt-amd64 apt install linux-headers-6.12.118+deb12-rt-amd64 linux-headers-6.12-rt-amd64
	6.12.118+deb13-rt-amd64 apt install linux-headers-6.12.118+deb13-rt-amd64 linux-headers-rt-amd64
	7.3.4+deb13-amd64 apt install -t trixie-backports linux-headers-7.3.4+deb13-amd64 linux-headers-amd64
	EOF
}

# hook_says ACTION RELEASE WHAT: the helper's hook ACTION (kernel-installed
# or headers-installed) for RELEASE, in a modules folder and a source
# folder of its own (QUIETSYNC_MODULES, QUIETSYNC_SRC; `echo` standing in
# for dkms), given WHAT is there: "headers" (build/include), "module" (the
# built .ko), "kernel" (the kernel's own modules), or "none".
# shellcheck disable=SC2317 # called through t_expect
hook_says() {
	local action=$1 rel=$2 what=$3 dir rc=0
	dir=$(mktemp -d)
	mkdir -p "$dir/mods/$rel/updates/dkms" "$dir/src/quietsync-9.9"
	: > "$dir/src/quietsync-9.9/dkms.conf"
	case $what in
	headers) mkdir -p "$dir/mods/$rel/build/include" ;;
	module) : > "$dir/mods/$rel/updates/dkms/quietsync_livepatch.ko.xz" ;;
	kernel) mkdir -p "$dir/mods/$rel/kernel" ;;
	esac
	QUIETSYNC_KERNELS=livepatch/kernels.txt QUIETSYNC_MODULES=$dir/mods QUIETSYNC_SRC=$dir/src \
		QUIETSYNC_DKMS=echo "$helper" "$action" "$rel" 2>&1 || rc=$?
	rm -rf "$dir"
	return "$rc"
}

check_hook() {
	local k=kernel-installed h=headers-installed
	t_expect "kernel hook: a covered kernel without headers: a warning naming the packages, exit 0" 0 \
		'^quietsync: WARNING: kernel 6\.12\.118\+deb12-rt-amd64 was installed without its headers.*Before rebooting: apt install linux-headers-6\.12\.118\+deb12-rt-amd64 linux-headers-6\.12-rt-amd64$' \
		bash -c "$(declare -f hook_says); helper=$helper; hook_says $k 6.12.118+deb12-rt-amd64 none | paste -sd' '"
	t_expect "kernel hook: a covered kernel with its headers: dkms install" 0 \
		'^quietsync: building the livepatch for 6\.12\.118\+deb13-amd64 \(dkms install quietsync/9\.9\) install -m quietsync -v 9\.9 -k 6\.12\.118\+deb13-amd64$' \
		bash -c "$(declare -f hook_says); helper=$helper; hook_says $k 6.12.118+deb13-amd64 headers | paste -sd' '"
	t_expect "kernel hook: DKMS built the module already: silent" 0 '^$' hook_says $k 6.12.118+deb13-amd64 module
	t_expect "kernel hook: a kernel of no covered line: silent" 0 '^$' hook_says $k 6.16.12+deb13-amd64 headers
	t_expect "kernel hook: no release given: a usage error" 2 '^usage' "$helper" $k
	t_expect "headers hook: a covered kernel's headers: dkms install" 0 \
		'^quietsync: building the livepatch for 6\.1\.0-57-rt-amd64 \(dkms install quietsync/9\.9\)' \
		hook_says $h 6.1.0-57-rt-amd64 kernel
	t_expect "headers hook: headers of a kernel not installed: silent" 0 '^$' hook_says $h 6.1.0-57-rt-amd64 none
	t_expect "headers hook: a kernel of no covered line: silent" 0 '^$' hook_says $h 6.16.12+deb13-amd64 kernel
	t_expect "the package's postinst (build-all): builds each covered kernel with headers, names the one without, skips the rest" 0 \
		'^quietsync: building the livepatch for 6\.12\.117\+deb13-amd64 .* install -m quietsync -v 9\.9 -k 6\.12\.117\+deb13-amd64 quietsync: WARNING: kernel 6\.12\.117\+deb13-rt-amd64 was installed without its headers.*linux-headers-rt-amd64$' \
		build_all_says
}

# build_all_says: the helper's build-all over three installed kernels: a
# covered one with headers, a covered one without, one of no covered line
# with headers, and a covered one already built; on one line.
# shellcheck disable=SC2317 # called through t_expect
build_all_says() {
	local dir rel
	dir=$(mktemp -d)
	mkdir -p "$dir/src/quietsync-9.9"
	: > "$dir/src/quietsync-9.9/dkms.conf"
	for rel in 6.12.117+deb13-amd64 6.12.117+deb13-rt-amd64 6.16.12+deb13-amd64 6.12.118+deb13-amd64; do
		mkdir -p "$dir/mods/$rel/kernel"
	done
	mkdir -p "$dir/mods/6.12.117+deb13-amd64/build/include" "$dir/mods/6.16.12+deb13-amd64/build/include" \
		"$dir/mods/6.12.118+deb13-amd64/updates/dkms"
	: > "$dir/mods/6.12.118+deb13-amd64/updates/dkms/quietsync_livepatch.ko.xz"
	QUIETSYNC_KERNELS=livepatch/kernels.txt QUIETSYNC_MODULES=$dir/mods QUIETSYNC_SRC=$dir/src \
		QUIETSYNC_DKMS=echo "$helper" build-all 2>&1 | paste -sd' '
	rm -rf "$dir"
}

# What a kernel of no covered line gets when apt installs it: the image's
# own kernel postinst hooks (/etc/kernel/postinst.d/dkms, then quietsync's)
# and its headers hooks (header_postinst.d) for a release of another line,
# given headers (the line's own stand in: DKMS reads the release, not the
# headers, to decide), must succeed, build nothing and warn of nothing
# (Debian 12's dkms failed such a kernel's installation while quietsync's
# dkms.conf asked for DKMS's autoinstall). Run in the unpacked root after
# the disk is made, so the disk keeps none of it.
# shellcheck disable=SC2317 # called through t_expect
kernel_hook_for_other_line() {
	local dir=$1 root=$1/root rel=6.16.12+deb13-amd64 rc=0 headers hook out
	headers=/usr/src/linux-headers-$(jq -r .newest "$dir/image.json")-amd64
	mkdir -p "$root/usr/lib/modules/$rel"
	ln -sfn "$headers" "$root/usr/lib/modules/$rel/build"
	for hook in postinst.d/dkms postinst.d/quietsync header_postinst.d/dkms header_postinst.d/quietsync; do
		# shellcheck disable=SC2016 # the inner shell expands its own arguments
		out=$(unshare --mount --net --propagation private sh -c \
			'mount -t proc proc "$1/proc" && exec chroot "$1" "/etc/kernel/$3" "$2"' \
			sh "$root" "$rel" "$hook" 2>&1) || { echo "$hook failed: exit $?"; rc=1; }
		printf '%s\n' "$out"
		if grep -q '^quietsync:' <<< "$out"; then
			echo "$hook said something of quietsync"
			rc=1
		fi
	done
	if compgen -G "$root/var/lib/dkms/quietsync/*/$rel/*/module/*.ko*" > /dev/null; then
		echo "a module was built for $rel"
		rc=1
	fi
	rm -rf "${root:?}/usr/lib/modules/$rel" "$root"/var/lib/dkms/quietsync/*/"$rel"
	return "$rc"
}

# quietsync 0.1, the two-package release before the split, built from this
# repository's history (the parent of the commit that made 0.2) in a
# folder outside the clone (its lab/deb.sh copies `git ls-files` when it is
# inside a work tree); its .deb files kept in $OUT/old, their paths
# printed. Nothing if the history is not there (a shallow clone).
build_old_release() {
	local commit tree rc=0
	commit=$(git log --format=%H -1 -S'quietsync (0.2)' -- debian/changelog 2> /dev/null) || return 0
	if [ -z "$commit" ] || ! git cat-file -e "$commit^" 2> /dev/null; then
		return 0
	fi
	tree=$(mktemp -d)
	git archive "$commit^" | tar -C "$tree" -xf -
	(cd "$tree" && QS_BUILD=$tree/build lab/deb.sh) >&2 || rc=$?
	rm -rf "$OUT/old"
	mkdir -p "$OUT/old"
	[ "$rc" -ne 0 ] || cp "$tree"/build/deb/quietsync_0.1_amd64.deb "$tree"/build/deb/quietsync-dkms_0.1_all.deb "$OUT/old/"
	rm -rf "$tree"
	[ "$rc" -eq 0 ] || return "$rc"
	ls "$OUT"/old/quietsync_0.1_amd64.deb "$OUT"/old/quietsync-dkms_0.1_all.deb
}

# The upgrade's apt output in image folder $1 (lab/image.sh): the hook's
# warnings, on one line (apt's log ends some lines with a carriage
# return).
# shellcheck disable=SC2317 # called through t_expect
upgrade_warnings() {
	tr -d '\r' < "$1/upgrade.log" | grep '^quietsync: ' | grep -v '^quietsync: building ' | paste -sd' '
}

# What the hook built in that upgrade: the releases, on one line.
# shellcheck disable=SC2317 # called through t_expect
upgrade_builds() {
	tr -d '\r' < "$1/upgrade.log" | sed -n 's/^quietsync: building the livepatch for \([^ ]*\) .*/\1/p' | paste -sd' '
}

# boot_vm IMAGE_DIR RELEASE MODE: one boot of the image (lab/vm.sh's
# results), its run named after the image, the kernel's flavour and the
# mode.
boot_vm() {
	local dir=$1 rel=$2 mode=$3 extra flavour name
	name=$(jq -r .image "$dir/image.json")
	case $rel in
	*-rt-amd64) flavour=rt-amd64 ;;
	*) flavour=amd64 ;;
	esac
	# no_timer_check: with several TCG guests on two busy cores the kernel's
	# early timer check can fail and panic ("IO-APIC + timer doesn't work").
	# The helper's bound (60 s) is for hardware: under TCG, with other
	# guests and builds on the same two cores, loading the module alone
	# took 3 minutes (2026-12-06). systemd.setenv gives the unit (and the
	# package scripts the test runs) 600 s, without a file in the image.
	extra="root=/dev/vda rw no_timer_check systemd.setenv=QUIETSYNC_TRANSITION_TIMEOUT=600 qs.package=$mode"
	[ "$mode" != optout ] || extra+=" quietsync=off"
	# About 35 s to the first check under TCG, then 10 s (optout) to 3
	# minutes (protected: the run-time load and removal, apt-get remove's
	# depmod for every kernel); several at once take longer. With a kernel
	# build beside them (make check runs guest suites two at a time) a
	# protected boot took 200 s to its first check and had not finished its
	# removal at 600 s (2026-12-06); 1,800 s leaves room before calling it
	# a hang.
	# Debian 13's opt-out boot leaves CPU 2 isolcpus= only, for the
	# checker's roles side by side (guest/package-test).
	local nohz=''
	[ "$mode:$name" != optout:trixie ] || nohz=1,3
	# The run-time load and removal beside spinning tasks: measured once,
	# on Debian 13's PREEMPT_RT kernel (the real-time user's), after the
	# remedy has loaded the livepatch.
	[ "$mode:$name:$flavour" != nomodule:trixie:rt-amd64 ] || extra+=" qs.runtime=1"
	QS_NOHZ_FULL=$nohz QS_TIMEOUT=1800 QS_MEM=3G QS_DISK=$dir/disk.img \
		QS_KERNEL=$dir/root/boot/vmlinuz-$rel QS_INITRAMFS=$dir/root/boot/initrd.img-$rel \
		QS_RUN_NAME=package-$name-$flavour-$mode QS_CMDLINE_EXTRA=$extra \
		lab/vm.sh package
}

# boot_all DIR:RELEASE:MODE...: the boots, two at a time (QEMU's
# snapshot=on: no boot changes the disk), the next started as soon as one
# ends, in the order given (the longest first). Two, not three: make check
# runs another guest suite or a kernel build beside this one, and with
# more 4-vCPU guests than cores a vCPU that waits for another's reply to
# an IPI spins while that one is not scheduled (three at a time beside
# a build: 10 to 15 minutes a boot, 270 s of it to the first check,
# 2026-12-06). Their results are counted exactly (IPI counts, files,
# units), so sharing the machine changes no verdict. Each run's results
# are printed, in the order given, with its kernel and mode before their
# names.
boot_all() {
	local items=("$@") i
	local -A running=() status=()
	local dir rel mode
	for i in "${!items[@]}"; do
		boot_reap 2
		IFS=: read -r dir rel mode <<< "${items[$i]}"
		boot_vm "$dir" "$rel" "$mode" > "$OUT/boot-$i.log" &
		running[$!]=$i
	done
	boot_reap 1
	for i in "${!items[@]}"; do
		IFS=: read -r dir rel mode <<< "${items[$i]}"
		sed "s/^\(\(not \)\?ok \)/\1$(basename "$dir") $rel $mode: /" "$OUT/boot-$i.log"
		[ "${status[$i]}" -eq 0 ] || QS_TEST_FAILED=1
	done
}

# boot_reap N: wait for boot_all's boots to end until fewer than N run,
# each one's exit status kept (boot_all's running and status arrays).
boot_reap() {
	local pid rc
	while [ "${#running[@]}" -ge "$1" ]; do
		rc=0
		wait -n -p pid "${!running[@]}" || rc=$?
		status[${running[$pid]}]=$rc
		unset "running[$pid]"
	done
}

# check_report NAME: package.json's figures of image NAME.
# shellcheck disable=SC2016 # jq's variables, not the shell's
check_report() {
	local name=$1 newest img
	img=".images[] | select(.image == \"$name\")"
	newest=$(jq -r "$img | .newest" "$QS_BUILD/report/package.json")
	t_expect "package.json: $name $newest-amd64 protected at boot, --status names the missing headers, exposed after removal" 0 '^true$' \
		jq -e --arg k "$newest-amd64" "$img"' | .boots[] | select(.kernel == $k) |
			.unit_active and .verdict == "fix active and verified" and .exit == 0
			and .restart_keeps_livepatch
			and .status_exit == 1 and .status_reason_code == "module_missing"
			and .removed_verdict == "exposed" and .removed_exit == 1 and .removed_status_exit == 1
			and .purge_left_nothing and .purged_status_exit == 1 and .boot_s > 0' \
		"$QS_BUILD/report/package.json"
	if [ "$name" = trixie ]; then
		t_expect "package.json: $name $newest-amd64 with nohz_full=1,3, the livepatch's flushed rule: no sync IPI on any CPU, the busy isolcpus-only one too" 0 '^true$' \
			jq -e --arg k "$newest-amd64" "$img"' | .boots[] | select(.kernel == $k) |
				.roles_flushed_spares_isolcpus_only' \
			"$QS_BUILD/report/package.json"
		t_expect "package.json: $name $newest-amd64 with nohz_full=1,3, the quiet rule (paravirt stand-in): the busy isolcpus-only CPU hit and named, the nohz_full ones spared" 0 '^true$' \
			jq -e --arg k "$newest-amd64" "$img"' | .boots[] | select(.kernel == $k) |
				.roles_isolcpus_only_hit_nohz_full_spared' \
			"$QS_BUILD/report/package.json"
		t_expect "package.json: $name $newest-rt-amd64: the livepatch off and on at run time beside spinning tasks, bounded" 0 '^true$' \
			jq -e --arg k "$newest-rt-amd64" "$img"' | .boots[] | select(.kernel == $k) |
				.runtime_bounded and (.runtime | length) == 4' \
			"$QS_BUILD/report/package.json"
	fi
	t_expect "package.json: $name $newest-amd64 exposed with quietsync=off" 0 '^true$' \
		jq -e --arg k "$newest-amd64" "$img"' | .boots[] | select(.kernel == $k) |
			.optout_verdict == "exposed" and .optout_exit == 1' \
		"$QS_BUILD/report/package.json"
	t_expect "package.json: $name's PREEMPT_RT kernel was checked with the hugetlb load" 0 '^true$' \
		jq -e --arg k "$newest-rt-amd64" "$img"' | .boots[] | select(.kernel == $k) | .load == "hugetlb-unshare"' \
		"$QS_BUILD/report/package.json"
	t_expect "package.json: $name $newest-rt-amd64 without headers: error at boot, exposed, then protected after the remedy" 0 '^true$' \
		jq -e --arg k "$newest-rt-amd64" "$img"' | .boots[] | select(.kernel == $k) |
			.unit_failed_at_error_priority and .status_exit == 1 and .status_reason_code == "module_missing"
			and .nomodule_verdict == "exposed" and .nomodule_exit == 1 and .headers_installed_with_apt
			and .remedied_verdict == "fix active and verified" and .remedied_exit == 0' \
		"$QS_BUILD/report/package.json"
}

# releases PATTERN: how many kernel images of a line the private archive's
# lists hold (lab/image.sh refreshed them), and the newest.
releases() {
	archive_apt_cache pkgnames linux-image- 2> /dev/null | grep -E "^linux-image-$1\$" | sort -V |
		awk '{ n++; last = $0 } END { print n + 0, last }'
}

# The covered lines whose kernel upgrade this test does not make, each
# said with what the archive holds.
check_other_lines() {
	local n newest
	read -r n newest < <(releases '7\.3\.[0-9]+\+deb13-amd64')
	if [ "$n" -le 1 ]; then
		t_skip "kernel upgrade on Debian 13's 7.3 line (trixie-backports)" \
			"the archive holds ${n} release of the line (${newest:-none}): nothing older of it to upgrade from"
	else
		t_skip "kernel upgrade on Debian 13's 7.3 line (trixie-backports)" \
			"the archive now holds $n releases of the line (the newest $newest): not made by this test yet"
	fi
	read -r n newest < <(releases '6\.12\.[0-9]+\+deb12-amd64')
	t_skip "kernel upgrade on Debian 12's 6.12 line (bookworm-security)" \
		"the archive holds $n releases (the newest $newest); this test upgrades Debian 12's default 6.1 line (the livepatch on 6.12.118+deb12 is booted by guest-livepatch)"
}

# make_image NAME [OLD_DEB...]: the image's disk with the packages, and the
# checks of what apt did there. The old release, when given, is installed
# first and this one over it.
make_image() {
	local name=$1 dir=$OUT/$1 previous newest what
	shift
	what="quietsync $version"
	[ $# -eq 0 ] || what="quietsync 0.1, then $version over it,"
	t_step "the $name image: $what installed with apt, DKMS built the livepatch, apt upgrade to the next kernels" \
		env QS_IMAGE_FIRST="$*" lab/image.sh disk "$name" "$dir" "$check_deb" "$deb" "$dkms_deb"
	previous=$(jq -r .previous "$dir/image.json")
	newest=$(jq -r .newest "$dir/image.json")
	t_expect "$name: the packages installed: $version, all three" 0 "^quietsync-check=$version quietsync-dkms=$version quietsync=$version\$" \
		bash -c "jq -r '.packages | sort | join(\" \")' '$dir/image.json'"
	t_expect "$name: DKMS built the livepatch for $previous (both flavours) and for $newest-amd64, not $newest-rt-amd64" 0 \
		"^${previous//+/\\+}-amd64 ${previous//+/\\+}-rt-amd64 ${newest//+/\\+}-amd64\$" \
		bash -c "jq -r '.dkms_modules[]' '$dir/image.json' | sed 's|^usr/lib/modules/\([^/]*\)/.*|\1|' | sort -V | paste -sd' '"
	t_expect "$name: apt upgrade: the hook warned of $newest-rt-amd64 alone, naming its headers and the metapackage" 0 \
		"^quietsync: WARNING: kernel ${newest//+/\\+}-rt-amd64 was installed without its headers.*Before rebooting: apt install linux-headers-${newest//+/\\+}-rt-amd64 linux-headers-rt-amd64\$" \
		upgrade_warnings "$dir"
	t_expect "$name: apt upgrade: the hook built the livepatch for $newest-amd64 (its headers came with it), for no other" 0 \
		"^${newest//+/\\+}-amd64\$" upgrade_builds "$dir"
	t_expect "$name: a new kernel of no covered line: its kernel and headers hooks succeed, build nothing, warn of nothing" 0 '' \
		kernel_hook_for_other_line "$dir"
	return "$QS_TEST_FAILED"
}

# make_images: both images at once (each is mostly one core's work: dpkg,
# DKMS, update-initramfs), their results printed in order.
make_images() {
	local rc_t=0 rc_b=0 pid_t pid_b
	make_image trixie "$@" > "$OUT/image-trixie.results" &
	pid_t=$!
	make_image bookworm > "$OUT/image-bookworm.results" &
	pid_b=$!
	wait "$pid_t" || rc_t=$?
	wait "$pid_b" || rc_b=$?
	cat "$OUT/image-trixie.results" "$OUT/image-bookworm.results"
	[ "$rc_t" -eq 0 ] && [ "$rc_b" -eq 0 ] || QS_TEST_FAILED=1
	if [ ! -f "$OUT/trixie/image.json" ] || [ ! -f "$OUT/bookworm/image.json" ]; then
		t_fail "both images made" "an image step failed (above): nothing to boot"
		t_finish
	fi
}

main() {
	local old=() rc=0 name t=$OUT/trixie b=$OUT/bookworm
	mkdir -p "$OUT"
	t_step "make deb: the packages build and lintian reports no error or warning" \
		env QS_DEB_ARM64=1 lab/deb.sh
	check_contents
	check_versions
	check_coverage
	check_headers
	check_hook
	build_old_release > "$OUT/old.list" || rc=$?
	mapfile -t old < "$OUT/old.list"
	if [ "$rc" -ne 0 ]; then
		t_fail "quietsync 0.1 built from the history, to upgrade from" "lab/deb.sh of 0.1 failed (its output is above)"
	elif [ "${#old[@]}" -eq 2 ]; then
		t_pass "quietsync 0.1 built from the history, to upgrade from"
	else
		t_skip "quietsync 0.1 built from the history, to upgrade from" "no history in this clone (shallow): Debian 13 installs $version alone"
	fi
	# Debian 13 upgrades from 0.1 (where 0.1 was installed before); Debian
	# 12 installs afresh: both paths, with packages built on this Debian 12
	# host.
	rm -f "$OUT"/*/image.json
	make_images "${old[@]}"
	# Six boots, two guests at a time (3 GiB each), the longest first:
	# Debian 13's PREEMPT_RT kernel that came without headers (a DKMS build
	# in the guest, then the run-time cases), the protected boots of the
	# kernel each upgrade brought, Debian 12's kernel without headers, the
	# opt-outs. Until 2026-12-06 there were eight: the previous rt-amd64
	# kernels were booted protected too (what they showed, the unit's load
	# at boot and the removal, is the amd64 boots' and has no flavour; the
	# livepatch loads on each line's newest rt-amd64 kernel here, after the
	# remedy, and in guest-livepatch-lines; for the previous releases,
	# that DKMS built it is asserted above).
	local tn bn
	tn=$(jq -r .newest "$t/image.json")
	bn=$(jq -r .newest "$b/image.json")
	boot_all "$t:$tn-rt-amd64:nomodule" "$t:$tn-amd64:protected" "$b:$bn-amd64:protected" \
		"$b:$bn-rt-amd64:nomodule" "$t:$tn-amd64:optout" "$b:$bn-amd64:optout"
	lab/package-report.sh "$t" "$b" >&2
	for name in trixie bookworm; do
		check_report "$name"
	done
	check_other_lines
	t_expect "README's package table is the one this run's package.json gives (lab/package-table.sh)" 0 '' \
		lab/package-table.sh --check README.md
	t_finish
}

main "$@"
