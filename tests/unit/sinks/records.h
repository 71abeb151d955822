/* SPDX-License-Identifier: GPL-2.0 */
/* Building blocks of the interval records the sinks' tests feed them, as account.c makes them. */
#ifndef KT_TEST_RECORDS_H
#define KT_TEST_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "exit_reasons.h"
#include "record.h"

/* An interval of 1.00025 s that ended at epoch_s. */
static inline struct interval_info interval(double epoch_s)
{
	struct interval_info iv = { .epoch_s = epoch_s, .interval_s = 1.00025 };

	snprintf(iv.timestamp, sizeof(iv.timestamp), "t%.3f", epoch_s);
	return iv;
}

static inline struct counter_record counter(const char *name, const char *column, bool valid,
					    uint64_t guest, uint64_t host)
{
	return (struct counter_record){ .name = name, .column = column, .valid = valid,
					.guest = guest, .host = host };
}

/* Exits of one reason, named as the accounting names them. */
static inline struct exit_record exits_of(uint32_t isa, uint32_t reason, uint64_t count,
					  uint64_t handling_ns)
{
	struct exit_record e = { .isa = isa, .reason = reason, .count = count,
				 .handling_ns = handling_ns };

	exit_reason_name(isa, reason, e.name, sizeof(e.name));
	return e;
}

#endif /* KT_TEST_RECORDS_H */
