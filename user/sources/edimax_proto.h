/* SPDX-License-Identifier: GPL-2.0 */
/* Edimax SP-2101W smart plug protocol: the query for its meter, and the reading of its reply.
 * Pure: the HTTP client around it is edimax.h. */
#ifndef KT_EDIMAX_PROTO_H
#define KT_EDIMAX_PROTO_H

#include <stddef.h>

/* A meter reply is a few hundred bytes: anything much larger is not a plug talking. */
#define EDIMAX_MAX_BODY		(64 * 1024)
/* Beyond any wall socket: a value above this is a corrupt reply, not a reading. */
#define EDIMAX_MAX_WATTS	100000.0
#define EDIMAX_MAX_AMPS		1000.0

/* The body to POST to http://HOST:PORT/smartplug.cgi: a NowPower/NowCurrent query. */
extern const char *const edimax_request;

enum edimax_status {
	EDIMAX_OK,
	EDIMAX_FAILED,		/* command refused: "FAILED" or "XML Header error" */
	EDIMAX_NO_METERING,	/* no NowPower value: a plug without a meter (SP-1101W) */
	EDIMAX_MALFORMED,	/* empty, not XML, truncated, a DTD, non-numeric, absurd */
};

/* Reads the reply to edimax_request. Pure: no I/O, no logging, safe on any bytes.
 * On EDIMAX_OK *watts is in [0, EDIMAX_MAX_WATTS] and *amps (if amps is not NULL) in
 * [0, EDIMAX_MAX_AMPS], or NAN when the reply has no NowCurrent. */
int edimax_parse_reply(const char *body, size_t len, double *watts, double *amps);
/* Once before edimax_parse_reply() runs in a thread: libxml2's one-time setup is not
 * thread-safe. */
void edimax_proto_init(void);
const char *edimax_status_str(int status);

#endif /* KT_EDIMAX_PROTO_H */
