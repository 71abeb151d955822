/* SPDX-License-Identifier: GPL-2.0 */
/* The Edimax plug's target (--power edimax:HOST[:PORT]) and credentials (never options). */
#ifndef KT_EDIMAX_CONF_H
#define KT_EDIMAX_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define EDIMAX_DEFAULT_PORT	10000

#define EDIMAX_CONFIG_DEFAULT	"/etc/kvmtrace-bpf/plug.conf"
#define EDIMAX_ENV_USER		"KVMTRACE_PLUG_USER"
#define EDIMAX_ENV_PASSWORD	"KVMTRACE_PLUG_PASSWORD"
#define EDIMAX_ENV_CONFIG	"KVMTRACE_PLUG_CONFIG"

/* "HOST", "HOST:PORT", "[IPV6]" or "[IPV6]:PORT" (hostport.h); an IPv6 host keeps its brackets
 * for the URL. Host names are letters, digits, '-', '.' and '_' only, so that nothing but a
 * host reaches the URL. 0 or -1 with a reason in why. */
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

#endif /* KT_EDIMAX_CONF_H */
