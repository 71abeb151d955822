/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus sink: the interval's records, served over HTTP at /metrics in the Prometheus text
 * format (0.0.4) or OpenMetrics 1.0.0 when the scraper asks for application/openmetrics-text.
 *
 * Counters (_total) are running totals since this process first saw the VM, so rate() and
 * increase() work and a restart of the tracer is an ordinary counter reset. Gauges are the
 * latest interval's values. A figure that is not measured is left out, never exported as 0.
 * Times are seconds, sizes bytes. Samples carry no timestamp: each scrape sees the latest
 * publish whole (kvmtrace_last_interval_timestamp_seconds says which).
 *
 * The families, their types, labels and help, and the figure each sample comes from are the
 * table of fields.c; VMs carry the labels vm and uuid (uuid="" when the VMM has none).
 */
#ifndef KT_METRICS_H
#define KT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "attribution.h"
#include "record.h"
#include "tracer.h"

/* An ended VM's series stay this long at most when nobody scrapes them. */
#define METRICS_FINAL_KEEP_S	300.0
#define METRICS_MAX_PROGS	32

struct metrics_server;

/*
 * Parses "[ADDR:]PORT" (split by hostport.h): "PORT" and ":PORT" mean 127.0.0.1, ADDR is a
 * numeric IPv4 address or an IPv6 one in brackets ("[::1]:9477"), without a zone id; PORT is
 * min_port to 65535 (0: the kernel picks one). Returns 0, or -1 with a one-line reason in why.
 */
int metrics_parse_listen(const char *listen, unsigned int min_port,
			 struct sockaddr_storage *addr, socklen_t *addrlen, char *why, size_t len);

/*
 * Listens on listen ("[HOST]:PORT"): before privileges are dropped, so that a port below 1024
 * can be had. NULL with a one-line reason in why on failure
 * ("cannot listen on 127.0.0.1:9477: Address already in use; ...").
 */
struct metrics_server *metrics_open(const char *listen, char *why, size_t len);

/*
 * Serves GET /metrics with libmicrohttpd in its own thread (which takes no signals): after the
 * privileges are dropped, since a thread keeps the ones its creator had. 0, or -1 with a
 * reason in why.
 */
int metrics_start(struct metrics_server *m, char *why, size_t len);

/* The port the server listens on (the one the kernel chose for port 0). */
int metrics_port(const struct metrics_server *m);

/* Where it listens, as "127.0.0.1:9477" or "[::1]:9477". */
const char *metrics_address(const struct metrics_server *m);

/* What the tracer reports about itself each interval. */
struct tracer_health {
	uint64_t drops[KT_NR_DROPS];	/* cumulative, by enum kt_drop (bpf/kvmtrace.h) */
	double interval_lag_s;		/* how late this drain was against its schedule */
	uint64_t plug_failures;		/* cumulative failed power readings */
	size_t nr_progs;
	struct prog_stat prog[METRICS_MAX_PROGS];	/* tracer_prog_stats() */
};

/*
 * Publishes one interval: called from the main loop; copies what it needs under a lock, so
 * scrapes never see a half-updated set. A VM whose record had final=true is dropped after that
 * publish's next scrape, or METRICS_FINAL_KEEP_S after it; so is one that a publish did not
 * carry (renamed). Records with the same vm and uuid (a restarted VMM) add up. h and health may
 * be NULL. m may be NULL (no --listen): nothing happens.
 */
void metrics_publish(struct metrics_server *m, const struct interval_info *iv,
		     const struct vm_record *r, size_t n, const struct host_record *h,
		     const struct tracer_health *health);

/*
 * Renders the exposition as a scrape would (and counts as one: ended VMs go after it) into buf
 * (size len, NUL-terminated when len > 0). Returns the full length, as snprintf does.
 */
size_t metrics_render(struct metrics_server *m, char *buf, size_t len, bool openmetrics);

void metrics_close(struct metrics_server *m);

#endif /* KT_METRICS_H */
