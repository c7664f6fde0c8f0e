/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Window markers for the lab's TCG plugin (lab/plugin/qs-interference.c).
 * The plugin recognises these instructions by their encoding when QEMU
 * translates them: no register is read and nothing is stored, so marking a
 * window costs the guest one no-op. Windows are numbered in the order their
 * start marker runs, on any CPU; the guest prints that number beside what
 * the window measured.
 *
 * The edge markers bracket a window together with the guest's reads of what
 * it compares with the plugin (/proc/interrupts): an event the reads count
 * and the window does not happened in the edges, where the plugin counts it
 * apart (an interrupt sent before the window opened, taken late).
 *
 * x86_64: nopl 0x5153000N(%rax), a 7-byte NOP with a magic displacement
 *         (N: the marker's QS_MARK_* number).
 * arm64:  hint #0x7e / #0x7f / #0x7c / #0x7d, unallocated hints that
 *         execute as NOPs.
 */
#ifndef QS_WINDOW_MARK_H
#define QS_WINDOW_MARK_H

#define QS_MARK_START 1
#define QS_MARK_STOP 2
#define QS_MARK_EDGE_OPEN 3
#define QS_MARK_EDGE_CLOSE 4

#define QS_MARK_X86_LEN 7
#define QS_MARK_X86_START { 0x0f, 0x1f, 0x80, 0x01, 0x00, 0x53, 0x51 }
#define QS_MARK_X86_STOP { 0x0f, 0x1f, 0x80, 0x02, 0x00, 0x53, 0x51 }
#define QS_MARK_X86_EDGE_OPEN { 0x0f, 0x1f, 0x80, 0x03, 0x00, 0x53, 0x51 }
#define QS_MARK_X86_EDGE_CLOSE { 0x0f, 0x1f, 0x80, 0x04, 0x00, 0x53, 0x51 }
#define QS_MARK_ARM64_START 0xd5032fdfu
#define QS_MARK_ARM64_STOP 0xd5032fffu
#define QS_MARK_ARM64_EDGE_OPEN 0xd5032f9fu
#define QS_MARK_ARM64_EDGE_CLOSE 0xd5032fbfu

#if defined(__x86_64__)
static inline void qs_window_start(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x01, 0x00, 0x53, 0x51" ::: "memory");
}

static inline void qs_window_stop(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x02, 0x00, 0x53, 0x51" ::: "memory");
}

static inline void qs_edge_open(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x03, 0x00, 0x53, 0x51" ::: "memory");
}

static inline void qs_edge_close(void)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x04, 0x00, 0x53, 0x51" ::: "memory");
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

static inline void qs_edge_open(void)
{
	__asm__ volatile(".inst 0xd5032f9f" ::: "memory");
}

static inline void qs_edge_close(void)
{
	__asm__ volatile(".inst 0xd5032fbf" ::: "memory");
}
#else
static inline void qs_window_start(void) {}
static inline void qs_window_stop(void) {}
static inline void qs_edge_open(void) {}
static inline void qs_edge_close(void) {}
#endif

#endif
