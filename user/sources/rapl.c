// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rapl.h"

/* Far more than any machine's sockets times (package + dram). */
#define MAX_ZONES	64

struct zone {
	char dir[32];		/* intel-rapl:N or intel-rapl:N:M */
	int fd;			/* energy_uj, kept open and read with pread */
	uint64_t max_uj;	/* max_energy_range_uj: where the counter wraps to 0 */
	uint64_t prev_uj;
};

struct rapl {
	struct zone zones[MAX_ZONES];
	int nr;
	bool have_prev;		/* prev_uj of every zone is from the same, last good read */
	double prev_t;		/* when that read was made */
	bool failing;		/* a read failed and was said; cleared by a good one */
	char describe[64];
};

/* The first line of a small sysfs file, without its newline. */
static int read_line(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -1;
	return 0;
}

/* sysfs regenerates an attribute on each read from offset 0. */
static int read_counter(const struct zone *z, uint64_t *v)
{
	char buf[32];
	ssize_t n;

	n = pread(z->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return parse_u64(buf, v);
}

/* Packages and dram only: the zones that add up to the host without counting anything twice.
 * The name, not the index, tells: psys is a top-level zone next to the packages on laptops. */
static bool counted(const char *dir, const char *name, bool *is_dram)
{
	unsigned int a, b;
	int n = 0;

	*is_dram = !strcmp(name, "dram");
	if (sscanf(dir, "intel-rapl:%u%n", &a, &n) == 1 && !dir[n])
		return *is_dram || !strncmp(name, "package-", 8);
	n = 0;
	if (sscanf(dir, "intel-rapl:%u:%u%n", &a, &b, &n) == 2 && !dir[n])
		return *is_dram;
	return false;
}

static int cmp_zone(const void *a, const void *b)
{
	return strcmp(((const struct zone *)a)->dir, ((const struct zone *)b)->dir);
}

static void close_zones(struct rapl *r)
{
	int i;

	for (i = 0; i < r->nr; i++)
		if (r->zones[i].fd >= 0)
			close(r->zones[i].fd);
}

/* Reads every counter; all or nothing, so that a sum never mixes two instants' worth. */
static int read_all(struct rapl *r, uint64_t *now, double *t)
{
	struct timespec ts;
	int i;

	for (i = 0; i < r->nr; i++)
		if (read_counter(&r->zones[i], &now[i]))
			return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return 0;
}

struct rapl *rapl_open(const char *sysfs_root, char *why, size_t len)
{
	char base[PATH_MAX], name[64], val[32];
	int packages = 0, drams = 0, i, dfd, zfd, err;
	uint64_t now[MAX_ZONES];
	struct dirent *de;
	struct rapl *r;
	bool is_dram;
	DIR *d;

	snprintf(base, sizeof(base), "%s/class/powercap", sysfs_root);
	d = opendir(base);
	if (!d) {
		snprintf(why, len, "no RAPL: %s: %s", base, strerror(errno));
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		closedir(d);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		struct zone *z;

		if (strncmp(de->d_name, "intel-rapl:", 11) || strlen(de->d_name) >= sizeof(z->dir))
			continue;
		zfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (zfd < 0)
			continue;
		if (read_line(zfd, "name", name, sizeof(name)) ||
		    !counted(de->d_name, name, &is_dram)) {
			close(zfd);
			continue;
		}
		if (r->nr == MAX_ZONES) {
			snprintf(why, len, "more than %d RAPL zones under %s", MAX_ZONES, base);
			close(zfd);
			closedir(d);
			goto fail;
		}
		z = &r->zones[r->nr];
		strcpy(z->dir, de->d_name);
		z->fd = openat(zfd, "energy_uj", O_RDONLY | O_CLOEXEC);
		err = errno;
		if (read_line(zfd, "max_energy_range_uj", val, sizeof(val)) ||
		    parse_u64(val, &z->max_uj))
			z->max_uj = 0;
		close(zfd);
		/* A zone left out would make the sum silently low: all of them or no RAPL. */
		if (z->fd < 0) {
			if (err == EACCES || err == EPERM)
				snprintf(why, len, "RAPL counters under %s are not readable "
					 "(root only since CVE-2020-8694)", base);
			else
				snprintf(why, len, "cannot open %s/%s/energy_uj: %s", base, z->dir,
					 strerror(err));
			closedir(d);
			goto fail;
		}
		r->nr++;
		if (is_dram)
			drams++;
		else
			packages++;
	}
	closedir(d);

	if (!packages) {
		snprintf(why, len, "no RAPL package zone under %s", base);
		goto fail;
	}
	/* readdir order is arbitrary: a fixed order makes messages and debugging repeatable. */
	qsort(r->zones, (size_t)r->nr, sizeof(r->zones[0]), cmp_zone);
	if (read_all(r, now, &r->prev_t)) {
		snprintf(why, len, "cannot read the RAPL counters under %s", base);
		goto fail;
	}
	for (i = 0; i < r->nr; i++)
		r->zones[i].prev_uj = now[i];
	r->have_prev = true;
	snprintf(r->describe, sizeof(r->describe), "%d package%s and %d dram zone%s", packages,
		 packages == 1 ? "" : "s", drams, drams == 1 ? "" : "s");
	return r;
fail:
	close_zones(r);
	free(r);
	return NULL;
}

bool rapl_sample(struct rapl *r, double *joules, double *span_s)
{
	uint64_t now[MAX_ZONES], sum = 0, d;
	bool was_prev = r->have_prev;
	double t;
	int i;

	if (read_all(r, now, &t)) {
		if (!r->failing)
			kt_warn("RAPL counters cannot be read: power unknown until they can");
		r->failing = true;
		r->have_prev = false;
		return false;
	}
	for (i = 0; i < r->nr && was_prev; i++) {
		struct zone *z = &r->zones[i];

		if (now[i] >= z->prev_uj) {
			d = now[i] - z->prev_uj;
		} else if (z->max_uj && z->prev_uj <= z->max_uj && now[i] <= z->max_uj) {
			/* Wrapped at max_energy_range_uj: at most once, since a wrap takes minutes
			 * even at hundreds of watts (2^32 energy units). */
			d = z->max_uj - z->prev_uj + now[i];
		} else {
			/* Went back without a known range: a reset, not energy. */
			was_prev = false;
			break;
		}
		sum += d;
	}
	for (i = 0; i < r->nr; i++)
		r->zones[i].prev_uj = now[i];
	*span_s = t - r->prev_t;
	r->prev_t = t;
	r->have_prev = true;
	if (r->failing) {
		kt_info("RAPL counters readable again");
		r->failing = false;
	}
	if (!was_prev)
		return false;
	*joules = (double)sum / 1e6;
	return true;
}

const char *rapl_describe(const struct rapl *r)
{
	return r->describe;
}

void rapl_close(struct rapl *r)
{
	if (!r)
		return;
	close_zones(r);
	free(r);
}
