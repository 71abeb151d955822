#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Clean up after test bed sessions that died without cleaning (kill -9, crash):
# their guests, test network and the daemons they started. Safe to run any time;
# waits while a live session holds the test bed.
#
# Usage: tests/vm/cleanup.sh

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=testbed.sh
. "$HERE/testbed.sh"

tb_init || exit 1
tb_cleanup
echo "test bed clean ($KT_TESTBED_DIR)"
