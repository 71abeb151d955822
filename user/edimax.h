/* SPDX-License-Identifier: GPL-2.0 */
/* Edimax SP-2101W smart plug: host watts polled over HTTP in a thread of its own, so that the
 * tracer's sampling never waits for the plug. */
#ifndef KT_EDIMAX_H
#define KT_EDIMAX_H

#include <stdbool.h>
#include <stddef.h>

#define EDIMAX_DEFAULT_PORT	10000
/* A meter reply is a few hundred bytes: anything much larger is not a plug talking. */
#define EDIMAX_MAX_BODY		(64 * 1024)
/* Beyond any wall socket: a value above this is a corrupt reply, not a reading. */
#define EDIMAX_MAX_WATTS	100000.0
#define EDIMAX_MAX_AMPS		1000.0
/* The plug degrades when polled faster than this. */
#define EDIMAX_MIN_PERIOD_S	1.0
#define EDIMAX_MAX_LIMIT_S	5.0

#define EDIMAX_CONFIG_DEFAULT	"/etc/kvmtrace-bpf/plug.conf"
#define EDIMAX_ENV_USER		"KVMTRACE_PLUG_USER"
#define EDIMAX_ENV_PASSWORD	"KVMTRACE_PLUG_PASSWORD"
#define EDIMAX_ENV_CONFIG	"KVMTRACE_PLUG_CONFIG"

enum edimax_status {
	EDIMAX_OK,
	EDIMAX_FAILED,		/* command refused: "FAILED" or "XML Header error" */
	EDIMAX_NO_METERING,	/* no NowPower value: a plug without a meter (SP-1101W) */
	EDIMAX_MALFORMED,	/* empty, not XML, truncated, a DTD, non-numeric, absurd */
};

/* Reads the reply to a NowPower/NowCurrent query. Pure: no I/O, no logging, safe on any bytes.
 * On EDIMAX_OK *watts is in [0, EDIMAX_MAX_WATTS] and *amps (if amps is not NULL) in
 * [0, EDIMAX_MAX_AMPS], or NAN when the reply has no NowCurrent. */
int edimax_parse_reply(const char *body, size_t len, double *watts, double *amps);
const char *edimax_status_str(int status);

/* "HOST", "HOST:PORT", "[IPV6]" or "[IPV6]:PORT". Host names are letters, digits, '-', '.' and
 * '_' only, so that nothing but a host reaches the URL. 0 or -1 with a reason in why. */
int edimax_parse_target(const char *s, char *host, size_t host_len, unsigned int *port,
			char *why, size_t len);

struct edimax_creds {
	char user[64];
	char password[128];
	bool factory;		/* nothing configured: admin/1234 */
	char source[160];	/* where they came from, for messages */
};

/* Credentials, never from the command line: the config file (KVMTRACE_PLUG_CONFIG, else
 * EDIMAX_CONFIG_DEFAULT when it exists) with "user=" and "password=" lines, then each of
 * KVMTRACE_PLUG_USER and KVMTRACE_PLUG_PASSWORD overriding the file's value; the factory
 * admin/1234 for what neither sets. -1 with a reason in why when the file is readable or
 * writable by group or others, owned by another user, unreadable or has a bad line. */
int edimax_load_creds(struct edimax_creds *c, char *why, size_t len);

struct edimax;

/* Starts polling http://HOST:PORT/smartplug.cgi in a thread: about once per interval, never
 * more often than once per min_period_s (EDIMAX_MIN_PERIOD_S outside tests), each request
 * bounded by min(0.8 * period, 5 s) in total. NULL with a reason in why when libcurl or the
 * thread cannot be set up; an unreachable plug is not an error here. */
struct edimax *edimax_open(const char *host, unsigned int port, const struct edimax_creds *c,
			   double interval_s, double min_period_s, char *why, size_t len);

/* At the end of an interval of interval_s: true with the watts of the newest reading completed
 * during it (since the previous call and within the last interval_s), false when none was.
 * Takes a lock the poller holds only to store a reading, and asks for the next interval's
 * poll. */
bool edimax_sample(struct edimax *e, double interval_s, double *watts);

/* Stops the poller, interrupting a request in flight, and frees everything. */
void edimax_close(struct edimax *e);

#endif /* KT_EDIMAX_H */
