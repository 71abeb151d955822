// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domains.h"
#include "log.h"

struct domains {
	char *uri;
	virConnectPtr conn;
	bool lost;		/* the connection failed and was reported; say when it is back */
	struct domain_info *doms;
	size_t nr;
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

struct domains *domains_open(const char *uri)
{
	struct domains *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (!uri || !strcmp(uri, "none"))
		return d;
	d->uri = strdup(uri);
	if (!d->uri) {
		free(d);
		return NULL;
	}
	virSetErrorFunc(NULL, quiet_libvirt_errors);
	if (!connect_libvirt(d))
		connection_lost(d, "cannot connect to");
	return d;
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

void domains_refresh(struct domains *d)
{
	virDomainPtr *list = NULL;
	struct domain_info *doms;
	char uuid[VIR_UUID_STRING_BUFLEN];
	size_t kept = 0;
	int i, n;

	if (!d->uri || (!d->conn && !connect_libvirt(d)))
		return;
	n = virConnectListAllDomains(d->conn, &list, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		connection_lost(d, "lost the connection to");
		return;
	}
	doms = calloc(n ? n : 1, sizeof(*doms));
	for (i = 0; i < n; i++) {
		if (doms && !virDomainGetUUIDString(list[i], uuid) &&
		    !describe(list[i], find(d->doms, d->nr, uuid, (int)virDomainGetID(list[i])),
			      &doms[kept]))
			kept++;
		virDomainFree(list[i]);
	}
	free(list);
	if (!doms)
		return;
	free(d->doms);
	d->doms = doms;
	d->nr = kept;
}

const struct domain_info *domains_by_pid(const struct domains *d, int pid)
{
	size_t i;

	for (i = 0; i < d->nr; i++)
		if (d->doms[i].pid == pid)
			return &d->doms[i];
	return NULL;
}

const struct domain_info *domains_by_uuid(const struct domains *d, const char *uuid)
{
	return uuid[0] ? find(d->doms, d->nr, uuid, -1) : NULL;
}

size_t domains_list(const struct domains *d, const struct domain_info **out)
{
	*out = d->doms;
	return d->nr;
}

void domains_close(struct domains *d)
{
	if (!d)
		return;
	if (d->conn)
		virConnectClose(d->conn);
	free(d->doms);
	free(d->uri);
	free(d);
}
