// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus endpoint (metrics.h): the listening socket, bound before privileges are
 * dropped, and libmicrohttpd serving GET /metrics in the format the scraper asks for. What a
 * scrape shows is metrics_store.c's; how it is written, exposition.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <microhttpd.h>

#include "hostport.h"
#include "metrics.h"
#include "metrics_store.h"

#define CT_TEXT		"text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Enough for a handful of scrapers; more wait in the backlog rather than cost memory. */
#define HTTP_MAX_CONNECTIONS	32
#define HTTP_TIMEOUT_S		30

struct metrics_server {
	struct MHD_Daemon *daemon;	/* NULL until metrics_start() */
	int fd;				/* the listening socket, the daemon's once it runs */
	bool ipv6;
	int port;
	char where[INET6_ADDRSTRLEN + 16];	/* "127.0.0.1:9477", the actual port */
	struct metrics_store *store;
};

void metrics_publish(struct metrics_server *m, const struct interval_info *iv,
		     const struct vm_record *r, size_t n, const struct host_record *h,
		     const struct tracer_health *health)
{
	if (m)
		metrics_store_publish(m->store, iv, r, n, h, health);
}

size_t metrics_render(struct metrics_server *m, char *buf, size_t len, bool openmetrics)
{
	struct expo o = { .om = openmetrics };

	metrics_store_render(m->store, &o);
	if (len)
		snprintf(buf, len, "%s", o.failed || !o.buf ? "" : o.buf);
	free(o.buf);
	return o.failed ? 0 : o.len;
}

/* ---------------------------------------------------------------- HTTP */

/* The q of a media range's parameters ("; q=0.5; version=1.0.0"); version is returned too. */
static double media_params(char *params, const char **version)
{
	char *p, *save = NULL;
	double q = 1;

	*version = NULL;
	for (p = strtok_r(params, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
		p += strspn(p, " \t");
		if (!strncasecmp(p, "q=", 2))
			q = strtod(p + 2, NULL);
		else if (!strncasecmp(p, "version=", 8))
			*version = p + 8;
	}
	return q;
}

/*
 * OpenMetrics when the Accept header prefers it to the text format (Prometheus asks for
 * "application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,...").
 */
static bool wants_openmetrics(const char *accept)
{
	double q, q_om = 0, q_text = 0;
	char *copy, *range, *save = NULL, *params, *end;
	const char *version;

	if (!accept || !(copy = strdup(accept)))
		return false;
	for (range = strtok_r(copy, ",", &save); range; range = strtok_r(NULL, ",", &save)) {
		range += strspn(range, " \t");
		params = strchr(range, ';');
		if (params)
			*params++ = '\0';
		for (end = range + strlen(range); end > range && (end[-1] == ' ' ||
								   end[-1] == '\t'); end--)
			;
		*end = '\0';
		q = params ? media_params(params, &version) : 1;
		if (!params)
			version = NULL;
		if (!strcasecmp(range, "application/openmetrics-text")) {
			if ((!version || !strncmp(version, "1.0.0", 5)) && q > q_om)
				q_om = q;
		} else if (!strcasecmp(range, "text/plain") || !strcasecmp(range, "text/*") ||
			   !strcmp(range, "*/*")) {
			if (q > q_text)
				q_text = q;
		}
	}
	free(copy);
	return q_om > 0 && q_om >= q_text;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *text,
				  const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics_server *m = cls;
	struct MHD_Response *resp;
	struct expo o = { 0 };
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(url, "/metrics"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "Not found: the metrics are at /metrics\n",
				  NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET and HEAD here\n",
				  "GET, HEAD");
	o.om = wants_openmetrics(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_ACCEPT));
	metrics_store_render(m->store, &o);
	if (o.failed) {
		free(o.buf);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory\n", NULL);
	}
	resp = MHD_create_response_from_buffer(o.len, o.buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(o.buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				o.om ? CT_OPENMETRICS : CT_TEXT);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---------------------------------------------------------------- the listening socket */

int metrics_parse_listen(const char *listen, unsigned int min_port,
			 struct sockaddr_storage *addr, socklen_t *addrlen, char *why, size_t len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *in = (struct sockaddr_in *)addr;
	char host[INET_ADDRSTRLEN];
	struct hostport hp;

	memset(addr, 0, sizeof(*addr));
	if (hostport_parse(listen, "listen", min_port, &hp, why, len))
		return -1;
	if (hp.ipv6 && !hp.has_port) {
		snprintf(why, len, "bad listen address '%s': it needs a port, e.g. %s:9477", listen,
			 listen);
		return -1;
	}
	/* "[ADDR:]PORT": without a ':', what is given is the port. */
	if (!hp.has_port) {
		hp.host_len = 0;
		if (hostport_port(listen, "listen", min_port, &hp.port, why, len))
			return -1;
	}
	if (hp.ipv6) {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = hp.addr6;
		in6->sin6_port = htons(hp.port);
		*addrlen = sizeof(*in6);
		return 0;
	}
	/* inet_pton(), as hostport.c for IPv6: no inet_aton forms ("127.1") to guess about. */
	snprintf(host, sizeof(host), "%.*s", (int)hp.host_len, hp.host);
	if (!hp.host_len) {
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (hp.host_len >= sizeof(host) || inet_pton(AF_INET, host, &in->sin_addr) != 1) {
		snprintf(why, len, "bad listen address '%.*s': give a numeric one, e.g. "
			 "0.0.0.0:9477, or an IPv6 one in brackets, [::1]:9477", (int)hp.host_len,
			 hp.host);
		return -1;
	}
	in->sin_family = AF_INET;
	in->sin_port = htons(hp.port);
	*addrlen = sizeof(*in);
	return 0;
}

/* "127.0.0.1:9477" or "[::1]:9477", for messages. */
static void addr_text(const struct sockaddr_storage *addr, char *out, size_t len)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	char host[INET6_ADDRSTRLEN] = "?";

	if (addr->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	}
}

static const char *listen_hint(int err)
{
	switch (err) {
	case EADDRINUSE:
		return "another program has that port: give a free one with --listen";
	case EADDRNOTAVAIL:
		return "no interface of this host has that address: give one it has, or 0.0.0.0";
	case EACCES:
		return "ports below 1024 need CAP_NET_BIND_SERVICE: give a higher one";
	case EAFNOSUPPORT:
		return "IPv6 is off on this host: give an IPv4 address";
	}
	return "check the address and port given to --listen";
}

/* A bound, listening socket; -1 with errno. */
static int open_socket(const struct sockaddr_storage *addr, socklen_t addrlen)
{
	int fd, one = 1, err;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A restarted tracer must not wait for the old connections' TIME_WAIT to end. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] means IPv6 only, so that 0.0.0.0 on the same port stays possible. */
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, addrlen) || listen(fd, 64)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct metrics_server *metrics_open(const char *listen, char *why, size_t len)
{
	struct sockaddr_storage addr, bound;
	socklen_t addrlen, blen = sizeof(bound);
	struct metrics_server *m;
	char reason[128], where[INET6_ADDRSTRLEN + 16];
	int fd, err;

	if (metrics_parse_listen(listen, 0, &addr, &addrlen, reason, sizeof(reason))) {
		snprintf(why, len, "invalid listen address '%s': %s", listen, reason);
		return NULL;
	}
	addr_text(&addr, where, sizeof(where));
	fd = open_socket(&addr, addrlen);
	if (fd < 0) {
		err = errno;
		snprintf(why, len, "cannot listen on %s: %s; %s", where, strerror(err),
			 listen_hint(err));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m)
		m->store = metrics_store_new();
	if (!m || !m->store) {
		free(m);
		close(fd);
		snprintf(why, len, "cannot listen on %s: out of memory; free some memory", where);
		return NULL;
	}
	m->fd = fd;
	m->ipv6 = addr.ss_family == AF_INET6;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen))
		bound = addr;
	m->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port :
			((struct sockaddr_in *)&bound)->sin_port);
	addr_text(&bound, m->where, sizeof(m->where));
	return m;
}

int metrics_start(struct metrics_server *m, char *why, size_t len)
{
	sigset_t all, old;
	int err;

	/* The server's thread inherits our mask: SIGINT and SIGTERM must reach the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | (m->ipv6 ? MHD_USE_IPv6 : 0),
				     0, NULL, NULL, on_request, m,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
				     MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned int)HTTP_MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
				     MHD_OPTION_END);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->daemon) {
		snprintf(why, len, "cannot listen on %s: the HTTP server did not start (%s); "
			 "check the system's thread and file limits", m->where, strerror(err));
		return -1;
	}
	return 0;
}

int metrics_port(const struct metrics_server *m)
{
	return m ? m->port : -1;
}

const char *metrics_address(const struct metrics_server *m)
{
	return m ? m->where : "";
}

void metrics_close(struct metrics_server *m)
{
	if (!m)
		return;
	/* Joins the server's thread and closes the listening socket. */
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	else
		close(m->fd);
	metrics_store_free(m->store);
	free(m);
}

