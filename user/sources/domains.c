// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domains.h"
#include "log.h"

/* A list of domains as one poll found them. */
struct domain_list {
	struct domain_info *doms;
	size_t nr;
};

/*
 * libvirt is polled on a thread of its own: a call can block for seconds (libvirtd answers
 * nothing while it kills a domain's QEMU), and the drain must not wait that long. The main
 * thread reads only "seen", which changes only in domains_refresh(), so lookups take no lock.
 */
struct domains {
	char *uri;
	struct timespec wait;	/* how long domains_refresh() waits for a poll in progress */
	struct domain_list seen;	/* the main thread's view */

	/* The poller's own: */
	virConnectPtr conn;
	bool lost;		/* the connection failed and was reported; say when it is back */
	struct domain_list last;	/* its latest poll, to describe only new domains */

	pthread_t poller;
	bool poller_started;
	pthread_mutex_t lock;	/* guards what follows */
	pthread_cond_t changed;
	unsigned long polls_asked;
	unsigned long polls_done;
	struct domain_list fresh;	/* a finished poll the main thread has not taken */
	bool has_fresh;
	bool stopping;
};

/* libvirt prints its errors on stderr by default: ours are one line and say what to do. */
static void quiet_libvirt_errors(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static uint64_t scaled_bytes(const char *value, const char *unit)
{
	/* libvirt's units (formatdomain "memory"); no unit means KiB. */
	static const struct {
		const char *name;
		uint64_t bytes;
	} units[] = {
		{ "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
		{ "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 }, { "GB", 1000000000 },
		{ "G", 1 << 30 }, { "GiB", 1 << 30 }, { "TB", 1000000000000ull },
		{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	uint64_t v = strtoull(value, NULL, 10);
	size_t i;

	if (!unit)
		return v * 1024;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit, units[i].name))
			return v * units[i].bytes;
	return v * 1024;
}

/* The string value of an XPath expression, copied into out; "" when it matches nothing. */
static void xpath_string(xmlXPathContextPtr ctx, const char *expr, char *out, size_t len)
{
	xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	xmlChar *s = NULL;

	out[0] = '\0';
	if (obj && obj->nodesetval && obj->nodesetval->nodeNr > 0)
		s = xmlXPathCastNodeSetToString(obj->nodesetval);
	if (s)
		snprintf(out, len, "%s", (const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(obj);
}

static uint64_t xml_memory(xmlXPathContextPtr ctx, const char *elem)
{
	char expr[64], value[32], unit[16];

	snprintf(expr, sizeof(expr), "/domain/%s", elem);
	xpath_string(ctx, expr, value, sizeof(value));
	snprintf(expr, sizeof(expr), "/domain/%s/@unit", elem);
	xpath_string(ctx, expr, unit, sizeof(unit));
	return value[0] ? scaled_bytes(value, unit[0] ? unit : NULL) : 0;
}

static void xml_taps(xmlXPathContextPtr ctx, struct domain_info *d)
{
	xmlXPathObjectPtr obj = xmlXPathEvalExpression(
		(const xmlChar *)"/domain/devices/interface/target/@dev", ctx);
	xmlChar *s;
	int i;

	d->nr_taps = 0;
	for (i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr &&
		    d->nr_taps < DOMAIN_MAX_TAPS; i++) {
		s = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
		if (s && s[0])
			snprintf(d->taps[d->nr_taps++], sizeof(d->taps[0]), "%s", (const char *)s);
		xmlFree(s);
	}
	xmlXPathFreeObject(obj);
}

static void xml_disks(xmlXPathContextPtr ctx, struct domain_info *d)
{
	char expr[128];
	int i;

	d->nr_disks = 0;
	for (i = 1; d->nr_disks < DOMAIN_MAX_DISKS; i++) {
		struct domain_disk *disk = &d->disks[d->nr_disks];

		snprintf(expr, sizeof(expr), "/domain/devices/disk[%d]/target/@dev", i);
		xpath_string(ctx, expr, disk->target, sizeof(disk->target));
		if (!disk->target[0])
			break;
		snprintf(expr, sizeof(expr),
			 "/domain/devices/disk[%d]/source/@*[name()='file' or name()='dev' or "
			 "name()='name' or name()='volume']", i);
		xpath_string(ctx, expr, disk->source, sizeof(disk->source));
		d->nr_disks++;
	}
}

int domain_parse_xml(const char *xml, struct domain_info *d)
{
	xmlDocPtr doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx;
	char value[32];

	if (!doc)
		return -1;
	ctx = xmlXPathNewContext(doc);
	if (!ctx) {
		xmlFreeDoc(doc);
		return -1;
	}
	xpath_string(ctx, "/domain/name", d->name, sizeof(d->name));
	xpath_string(ctx, "/domain/uuid", d->uuid, sizeof(d->uuid));
	xpath_string(ctx, "/domain/vcpu/@current", value, sizeof(value));
	if (!value[0])
		xpath_string(ctx, "/domain/vcpu", value, sizeof(value));
	d->vcpus = value[0] ? atoi(value) : -1;
	d->max_memory_bytes = xml_memory(ctx, "memory");
	d->memory_bytes = xml_memory(ctx, "currentMemory");
	if (!d->memory_bytes)
		d->memory_bytes = d->max_memory_bytes;
	xml_taps(ctx, d);
	xml_disks(ctx, d);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return d->name[0] ? 0 : -1;
}

/* The VMM PID from the driver's pid file (root can read it; the read-only API has no PID). */
static int domain_pid(const char *name)
{
	static const char *const run_dirs[] = { "/run/libvirt/qemu", "/run/libvirt/ch" };
	char path[512];
	size_t i;
	FILE *f;
	int pid;

	for (i = 0; i < sizeof(run_dirs) / sizeof(run_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.pid", run_dirs[i], name);
		f = fopen(path, "re");
		if (!f)
			continue;
		pid = fscanf(f, "%d", &pid) == 1 ? pid : 0;
		fclose(f);
		if (pid > 0)
			return pid;
	}
	return 0;
}

static bool connect_libvirt(struct domains *d)
{
	d->conn = virConnectOpenReadOnly(d->uri);
	if (!d->conn)
		return false;
	if (d->lost)
		kt_info("connected to libvirt at %s again", d->uri);
	d->lost = false;
	return true;
}

static void connection_lost(struct domains *d, const char *what)
{
	if (!d->lost)
		kt_warn("%s libvirt at %s: %s; VMs keep the names known, from their command lines "
			"otherwise; retrying each interval", what, d->uri, virGetLastErrorMessage());
	d->lost = true;
	if (d->conn)
		virConnectClose(d->conn);
	d->conn = NULL;
}

static const struct domain_info *find(const struct domain_info *doms, size_t nr,
				      const char *uuid, int id)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(doms[i].uuid, uuid) && (id < 0 || doms[i].id == id))
			return &doms[i];
	return NULL;
}

/* Fills one domain: details from its XML when it is new or restarted, live figures always. */
static int describe(virDomainPtr dom, const struct domain_info *known, struct domain_info *out)
{
	virDomainInfo info;
	char *xml;

	if (known) {
		*out = *known;
	} else {
		memset(out, 0, sizeof(*out));
		xml = virDomainGetXMLDesc(dom, 0);
		if (!xml)
			return -1;
		if (domain_parse_xml(xml, out)) {
			free(xml);
			return -1;
		}
		free(xml);
		out->id = virDomainGetID(dom);
	}
	if (!out->pid)
		out->pid = domain_pid(out->name);
	if (!virDomainGetInfo(dom, &info)) {
		out->vcpus = info.nrVirtCpu;
		out->memory_bytes = (uint64_t)info.memory * 1024;
		out->max_memory_bytes = (uint64_t)info.maxMem * 1024;
	}
	return 0;
}

/* One poll of the active domains into out. Returns 0, or -1 when libvirt cannot be asked. */
static int poll_domains(struct domains *d, struct domain_list *out)
{
	virDomainPtr *list = NULL;
	char uuid[VIR_UUID_STRING_BUFLEN];
	int i, n;

	if (!d->conn && !connect_libvirt(d)) {
		connection_lost(d, "cannot connect to");
		return -1;
	}
	n = virConnectListAllDomains(d->conn, &list, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		connection_lost(d, "lost the connection to");
		return -1;
	}
	out->nr = 0;
	out->doms = calloc(n ? n : 1, sizeof(*out->doms));
	for (i = 0; i < n; i++) {
		if (out->doms && !virDomainGetUUIDString(list[i], uuid) &&
		    !describe(list[i], find(d->last.doms, d->last.nr, uuid,
					    (int)virDomainGetID(list[i])),
			      &out->doms[out->nr]))
			out->nr++;
		virDomainFree(list[i]);
	}
	free(list);
	if (!out->doms)
		return -1;
	free(d->last.doms);
	d->last = *out;
	return 0;
}

static int copy_list(const struct domain_list *from, struct domain_list *to)
{
	to->doms = malloc((from->nr ? from->nr : 1) * sizeof(*to->doms));
	if (!to->doms)
		return -1;
	memcpy(to->doms, from->doms, from->nr * sizeof(*to->doms));
	to->nr = from->nr;
	return 0;
}

static void *poller_main(void *arg)
{
	struct domains *d = arg;
	struct domain_list polled, copy;
	unsigned long asked;
	bool ok;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->stopping && d->polls_done == d->polls_asked)
			pthread_cond_wait(&d->changed, &d->lock);
		if (d->stopping)
			break;
		asked = d->polls_asked;
		pthread_mutex_unlock(&d->lock);
		ok = !poll_domains(d, &polled) && !copy_list(&polled, &copy);
		pthread_mutex_lock(&d->lock);
		if (ok) {
			if (d->has_fresh)
				free(d->fresh.doms);
			d->fresh = copy;
			d->has_fresh = true;
		}
		d->polls_done = asked;
		pthread_cond_broadcast(&d->changed);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* The first poll is made at once, so the first drain knows the domains already running. */
static int start_poller(struct domains *d)
{
	struct domain_list first;
	pthread_condattr_t attr;
	int err;

	if (!poll_domains(d, &first) && copy_list(&first, &d->seen))
		return -1;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = pthread_cond_init(&d->changed, &attr);
	pthread_condattr_destroy(&attr);
	if (err)
		return -1;
	pthread_mutex_init(&d->lock, NULL);
	if (pthread_create(&d->poller, NULL, poller_main, d))
		return -1;
	d->poller_started = true;
	return 0;
}

struct domains *domains_open(const char *uri, double interval_s)
{
	struct domains *d = calloc(1, sizeof(*d));
	double wait_s = interval_s / 4 < 0.25 ? interval_s / 4 : 0.25;

	if (!d)
		return NULL;
	if (!uri || !strcmp(uri, "none"))
		return d;
	d->wait.tv_sec = (time_t)wait_s;
	d->wait.tv_nsec = (long)((wait_s - (double)d->wait.tv_sec) * 1e9);
	d->uri = strdup(uri);
	virSetErrorFunc(NULL, quiet_libvirt_errors);
	if (!d->uri || start_poller(d)) {
		domains_close(d);
		return NULL;
	}
	return d;
}

/* Asks for a poll and takes the newest one finished, waiting for it only briefly. */
void domains_refresh(struct domains *d)
{
	struct timespec deadline;
	unsigned long want;

	if (!d->poller_started)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += d->wait.tv_sec;
	deadline.tv_nsec += d->wait.tv_nsec;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	want = ++d->polls_asked;
	pthread_cond_broadcast(&d->changed);
	while (d->polls_done < want &&
	       pthread_cond_timedwait(&d->changed, &d->lock, &deadline) != ETIMEDOUT)
		;
	if (d->has_fresh) {
		free(d->seen.doms);
		d->seen = d->fresh;
		d->has_fresh = false;
	}
	pthread_mutex_unlock(&d->lock);
}

const struct domain_info *domains_by_pid(const struct domains *d, int pid)
{
	size_t i;

	for (i = 0; i < d->seen.nr; i++)
		if (d->seen.doms[i].pid == pid)
			return &d->seen.doms[i];
	return NULL;
}

const struct domain_info *domains_by_uuid(const struct domains *d, const char *uuid)
{
	return uuid[0] ? find(d->seen.doms, d->seen.nr, uuid, -1) : NULL;
}

size_t domains_list(const struct domains *d, const struct domain_info **out)
{
	*out = d->seen.doms;
	return d->seen.nr;
}

void domains_close(struct domains *d)
{
	if (!d)
		return;
	if (d->poller_started) {
		pthread_mutex_lock(&d->lock);
		d->stopping = true;
		pthread_cond_broadcast(&d->changed);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->poller, NULL);
		pthread_cond_destroy(&d->changed);
		pthread_mutex_destroy(&d->lock);
		if (d->has_fresh)
			free(d->fresh.doms);
	}
	if (d->conn)
		virConnectClose(d->conn);
	free(d->seen.doms);
	free(d->last.doms);
	free(d->uri);
	free(d);
}
