/* SPDX-License-Identifier: GPL-2.0 */
/* The live table: one line per VM per interval, printed to the terminal. */
#ifndef KT_TABLE_H
#define KT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "record.h"

/*
 * Prints one interval: a header line with the time, then one line per VM with name, PID,
 * CPU %, guest %, hypervisor %, exits/s, top exit reason and run delay (ms/s). Percentages are
 * of one CPU over the interval (200% = two CPUs busy). Figures that are not measured print "-".
 * With clear set (a terminal), the screen is cleared first so the table stays in place.
 */
void table_print(FILE *out, const struct interval_info *iv, const struct vm_record *recs,
		 size_t n, bool clear);

#endif /* KT_TABLE_H */
