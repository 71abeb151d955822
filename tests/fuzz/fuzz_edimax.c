// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: edimax_parse_reply() on any bytes, as a hostile or broken plug (or anyone
 * on its network) can send. Besides the sanitizers' checks, a reading it accepts must be one
 * the tracer can write. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "edimax_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double watts = -1, amps = -1;
	int st;

	st = edimax_parse_reply((const char *)data, size, &watts, &amps);
	if (st < EDIMAX_OK || st > EDIMAX_MALFORMED)
		abort();
	if (st == EDIMAX_OK) {
		if (!(watts >= 0 && watts <= EDIMAX_MAX_WATTS))
			abort();
		if (!isnan(amps) && !(amps >= 0 && amps <= EDIMAX_MAX_AMPS))
			abort();
	}
	return 0;
}
