/* SPDX-License-Identifier: GPL-2.0 */
/* What the Edimax tests share (test_edimax.c, test_edimax_conf.c): a scratch folder for the
 * group, and tests that see no credentials but those they set up themselves. */
#ifndef KT_TEST_EDIMAX_FIXTURE_H
#define KT_TEST_EDIMAX_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "edimax_conf.h"

static char tmp[] = "/tmp/kt-edimax-XXXXXX";

static int make_tmp(void **state)
{
	(void)state;
	return mkdtemp(tmp) ? 0 : -1;
}

static int remove_tmp(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd);
}

/* The caller's environment must not lend a test a user, a password or a file. */
static int clear_env(void **state)
{
	(void)state;
	unsetenv(EDIMAX_ENV_USER);
	unsetenv(EDIMAX_ENV_PASSWORD);
	unsetenv(EDIMAX_ENV_CONFIG);
	return 0;
}

#endif /* KT_TEST_EDIMAX_FIXTURE_H */
