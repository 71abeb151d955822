// SPDX-License-Identifier: GPL-2.0
/*
 * HOST[:PORT] parsing. Addresses are checked with inet_pton(), not getaddrinfo(AI_NUMERICHOST):
 * that one also takes inet_aton's forms ("1.2.3", "127.1", "0x7f.0.0.1") and zone ids, which
 * neither a URL nor a message should be left to guess about.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "hostport.h"

int hostport_port(const char *s, const char *what, unsigned int min, unsigned int *port,
		  char *why, size_t len)
{
	size_t n = strlen(s);
	unsigned int v = 0;
	size_t i;

	/* Five digits at most, so v cannot overflow. */
	for (i = 0; i < n && n <= 5 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	if (!n || i < n || v < min || v > 65535) {
		snprintf(why, len, "bad %s port '%s': expected %u to 65535", what, s, min);
		return -1;
	}
	*port = v;
	return 0;
}

int hostport_parse(const char *s, const char *what, unsigned int min_port, struct hostport *hp,
		   char *why, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *end;

	memset(hp, 0, sizeof(*hp));
	if (s[0] == '[') {
		end = strchr(s, ']');
		hp->host = s + 1;
		hp->host_len = end ? (size_t)(end - hp->host) : 0;
		if (!hp->host_len || hp->host_len >= sizeof(addr)) {
			snprintf(why, len, "bad %s address '%s': expected [IPV6] or [IPV6]:PORT",
				 what, s);
			return -1;
		}
		memcpy(addr, hp->host, hp->host_len);
		addr[hp->host_len] = '\0';
		if (inet_pton(AF_INET6, addr, &hp->addr6) != 1) {
			snprintf(why, len, "bad %s address '%s': not an IPv6 address", what, addr);
			return -1;
		}
		hp->ipv6 = true;
		end++;
		if (*end && *end != ':') {
			snprintf(why, len, "bad %s port in '%s': expected [IPV6]:PORT", what, s);
			return -1;
		}
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':')) {
			snprintf(why, len, "bad %s host '%s': an IPv6 address goes in brackets, "
				 "[ADDR]:PORT", what, s);
			return -1;
		}
		hp->host = s;
		hp->host_len = end ? (size_t)(end - s) : strlen(s);
	}
	if (end && *end == ':') {
		hp->has_port = true;
		return hostport_port(end + 1, what, min_port, &hp->port, why, len);
	}
	return 0;
}
