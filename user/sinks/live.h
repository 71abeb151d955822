/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live view: a top-like screen (ncurses) while stdout and stdin are a terminal, with keys to
 * sort, show vCPUs, pause and quit; plain lines (table.h) otherwise. It starts at the first call
 * that finds a terminal and ends, restoring the terminal, when the process exits.
 */
#ifndef KT_LIVE_H
#define KT_LIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "interval.h"

/* One interval: onto the screen (unless paused), or as plain lines when tty is false. */
void live_show(const struct interval_record *rec, bool tty);

enum live_wait {
	LIVE_WAITED,	/* the deadline came, or *stop was set (a signal) */
	LIVE_QUIT,	/* the operator pressed q */
	LIVE_NONE,	/* no view here (stdin is no terminal, or curses cannot drive it) */
};

/* While stdout is a terminal: answers keys until deadline (CLOCK_MONOTONIC ns) or *stop. */
enum live_wait live_wait(uint64_t deadline_ns, volatile sig_atomic_t *stop);

#endif /* KT_LIVE_H */
