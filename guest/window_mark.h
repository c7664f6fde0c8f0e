/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Window markers for the lab's TCG plugin (lab/plugin/qs-interference.c).
 * The plugin recognises these instructions by their encoding when QEMU
 * translates them: no register is read and nothing is stored, so marking a
 * window costs the guest one no-op. Windows are numbered in the order their
 * start marker runs, on any CPU; the guest prints that number beside what
 * the window measured.
 *
 * x86_64: nopl 0x5153000N(%rax), a 7-byte NOP with a magic displacement.
 * arm64:  hint #0x7e / #0x7f, unallocated hints that execute as NOPs.
 */
#ifndef QS_WINDOW_MARK_H
#define QS_WINDOW_MARK_H

#define QS_MARK_X86_LEN 7
#define QS_MARK_X86_START { 0x0f, 0x1f, 0x80, 0x01, 0x00, 0x53, 0x51 }
#define QS_MARK_X86_STOP { 0x0f, 0x1f, 0x80, 0x02, 0x00, 0x53, 0x51 }
#define QS_MARK_ARM64_START 0xd5032fdfu
#define QS_MARK_ARM64_STOP 0xd5032fffu

#if defined(__x86_64__)
static inline void qs_window_start(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x01, 0x00, 0x53, 0x51" ::: "memory");
}

static inline void qs_window_stop(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x02, 0x00, 0x53, 0x51" ::: "memory");
}
#elif defined(__aarch64__)
static inline void qs_window_start(void)
{
	__asm__ volatile(".inst 0xd5032fdf" ::: "memory");
}

static inline void qs_window_stop(void)
{
	__asm__ volatile(".inst 0xd5032fff" ::: "memory");
}
#else
static inline void qs_window_start(void) {}
static inline void qs_window_stop(void) {}
#endif

#endif
