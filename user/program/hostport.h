/* SPDX-License-Identifier: GPL-2.0 */
/* "HOST[:PORT]" and "[IPV6][:PORT]", as a plug's target or a listening address is written. */
#ifndef KT_HOSTPORT_H
#define KT_HOSTPORT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct hostport {
	const char *host;	/* into the parsed string, brackets left out; not NUL-terminated */
	size_t host_len;	/* 0 for ":PORT" */
	bool ipv6;		/* the host was in brackets: a numeric IPv6 address */
	struct in6_addr addr6;	/* when ipv6: that address, parsed */
	bool has_port;
	unsigned int port;	/* when has_port: min_port to 65535 */
};

/*
 * Splits s into a host and an optional port, decimal digits from min_port to 65535. A host
 * with a ':' must be in brackets, where only a plain IPv6 address may be (no zone: "%eth0");
 * what else a host may be is the caller's to check. 0, or -1 with a one-line reason in why
 * that calls the parts after what ("bad plug port '0': expected 1 to 65535").
 */
int hostport_parse(const char *s, const char *what, unsigned int min_port, struct hostport *hp,
		   char *why, size_t len);

/* s alone as a port, by the rules and with the reasons of hostport_parse's: for a syntax where a
 * bare value is a port ("--listen 9477"). */
int hostport_port(const char *s, const char *what, unsigned int min_port, unsigned int *port,
		  char *why, size_t len);

#endif /* KT_HOSTPORT_H */
