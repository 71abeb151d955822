// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"
#include "perf_events.h"

#define CPU_ONLINE_PATH		"/sys/devices/system/cpu/online"
#define PMU_SYSFS_DIR		"/sys/bus/event_source/devices"
#define MAX_SAMPLE_RATE_PATH	"/proc/sys/kernel/perf_event_max_sample_rate"

int cpu_list_parse(const char *list, bool *cpus, int nr)
{
	const char *p = list;
	unsigned long a, b, c;
	char *end;

	memset(cpus, 0, nr * sizeof(*cpus));
	while (*p && *p != '\n') {
		if (!isdigit((unsigned char)*p))
			return -1;
		a = b = strtoul(p, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -1;
			b = strtoul(end + 1, &end, 10);
		}
		if (b < a)
			return -1;
		for (c = a; c <= b && c < (unsigned long)nr; c++)
			cpus[c] = true;
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -1;
		p = end;
	}
	return 0;
}

/*
 * The online CPUs among the nr possible ones. Without the sysfs file every CPU is tried:
 * perf_event_open() refuses an offline one with ENODEV, which the callers then skip.
 */
static bool *online_cpus(int nr)
{
	bool *cpus = calloc(nr, sizeof(*cpus));
	char buf[4096];
	ssize_t len;
	int fd, i;

	if (!cpus)
		return NULL;
	fd = open(CPU_ONLINE_PATH, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len > 0) {
		buf[len] = '\0';
		if (!cpu_list_parse(buf, cpus, nr))
			return cpus;
	}
	for (i = 0; i < nr; i++)
		cpus[i] = true;
	return cpus;
}

static int possible_cpus(void)
{
	int nr = libbpf_num_possible_cpus();

	if (nr <= 0) {
		errno = nr < 0 ? -nr : ENODEV;
		return -1;
	}
	return nr;
}

static int perf_open(struct perf_event_attr *attr, int cpu)
{
	return syscall(__NR_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Is a core PMU registered? It takes PERF_TYPE_RAW, as its sysfs "type" file says. */
static bool have_core_pmu(void)
{
	DIR *dir = opendir(PMU_SYSFS_DIR);
	char path[512], buf[32];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	int fd;

	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/type", PMU_SYSFS_DIR, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			found = strtoul(buf, NULL, 10) == PERF_TYPE_RAW;
		}
	}
	closedir(dir);
	return found;
}

/* Why perf_event_open() refused a counter, in words, or NULL when errno says it all. */
static const char *refusal(const struct counter_spec *spec, int err)
{
	switch (err) {
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
	case ENXIO:
		if (!spec->needs_pmu)
			return "this kernel does not support it";
		return have_core_pmu() ? "this CPU's PMU does not support it" :
					 "no hardware PMU here";
	case EACCES:
	case EPERM:
		return "not permitted";
	default:
		return NULL;
	}
}

struct counter_set {
	size_t n;
	bool active[KT_MAX_COUNTERS];
};

/*
 * Opens one counter on every online CPU and hands each event to the map; returns how many CPUs
 * count it (when none, *why_none is perf_event_open's errno, 0 when no CPU was online), or -1
 * (errno). Our descriptors are closed at once: the map holds the events, and
 * keeping nr_cpus * KT_MAX_COUNTERS descriptors would run into RLIMIT_NOFILE on large hosts.
 */
static int open_counter(const struct counter_spec *spec, size_t i, const bool *online, int nr,
			int map_fd, int *why_none)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = spec->type,
		.config = spec->config,
		/* Counting from now on, guest mode included: the BPF side splits it. */
		.exclude_guest = 0,
	};
	int cpu, fd, err, opened = 0, refused = 0, first_err = 0, first_cpu = -1, offline = 0;
	__u32 key;

	for (cpu = 0; cpu < nr; cpu++) {
		if (!online[cpu])
			continue;
		fd = perf_open(&attr, cpu);
		if (fd < 0) {
			/* A CPU gone offline since we looked: nothing to count there. */
			if (errno == ENODEV) {
				offline++;
				continue;
			}
			if (!refused++) {
				first_err = errno;
				first_cpu = cpu;
			}
			continue;
		}
		key = cpu * KT_MAX_COUNTERS + i;
		err = bpf_map_update_elem(map_fd, &key, &fd, BPF_ANY) ? errno : 0;
		close(fd);
		if (err) {
			errno = err;
			return -1;
		}
		opened++;
	}

	if (!opened) {
		/* ENODEV everywhere is a missing PMU, not every CPU going offline. */
		*why_none = refused ? first_err : offline ? ENODEV : 0;
	} else if (refused) {
		kt_warn("cannot count %s on %d CPU%s (perf_event_open on CPU %d: %s); "
			"its columns will leave %s out", spec->name, refused,
			refused > 1 ? "s" : "", first_cpu, strerror(first_err),
			refused > 1 ? "them" : "it");
	}
	return opened;
}

/*
 * One warning for all the counters that one reason keeps from counting anywhere (on a machine
 * without a PMU: every hardware one), rather than a line each.
 */
static void warn_uncounted(const struct counter_set *cs, const struct counter_spec *spec,
			   const int *why_none)
{
	char names[KT_MAX_COUNTERS * (sizeof(spec->name) + 2)];
	bool told[KT_MAX_COUNTERS] = {};
	const char *reason;
	size_t c, d, len, count;

	for (c = 0; c < cs->n; c++) {
		if (cs->active[c] || told[c] || !why_none[c])
			continue;
		reason = refusal(&spec[c], why_none[c]);
		len = 0;
		count = 0;
		for (d = c; d < cs->n; d++) {
			if (cs->active[d] || told[d] || why_none[d] != why_none[c] ||
			    refusal(&spec[d], why_none[d]) != reason)
				continue;
			told[d] = true;
			len += snprintf(names + len, sizeof(names) - len, "%s%s", count ? ", " : "",
					spec[d].name);
			count++;
		}
		kt_warn("cannot count %s%s%s (perf_event_open: %s); %s columns will be empty",
			names, reason ? ": " : "", reason ? reason : "", strerror(why_none[c]),
			count > 1 ? "their" : "its");
	}
}

struct counter_set *counters_open(const struct counter_spec *spec, size_t n, int map_fd)
{
	int nr = possible_cpus(), opened, err, cpu, why_none[KT_MAX_COUNTERS] = {};
	struct counter_set *cs;
	bool *online;
	size_t c, i;
	__u32 key;

	if (nr < 0)
		return NULL;
	if (n > KT_MAX_COUNTERS) {
		errno = EINVAL;
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	online = online_cpus(nr);
	if (!cs || !online) {
		free(cs);
		free(online);
		errno = ENOMEM;
		return NULL;
	}
	cs->n = n;

	for (c = 0; c < n; c++) {
		opened = open_counter(&spec[c], c, online, nr, map_fd, &why_none[c]);
		if (opened < 0)
			goto fail;
		cs->active[c] = opened > 0;
	}
	free(online);
	warn_uncounted(cs, spec, why_none);
	return cs;

fail:
	/* Leave no event behind in the map: they would count on for nothing. */
	err = errno;
	for (cpu = 0; cpu < nr; cpu++) {
		for (i = 0; i <= c; i++) {
			key = cpu * KT_MAX_COUNTERS + i;
			bpf_map_delete_elem(map_fd, &key);
		}
	}
	free(online);
	free(cs);
	errno = err;
	return NULL;
}

bool counters_active(const struct counter_set *cs, size_t i)
{
	return cs && i < cs->n && cs->active[i];
}

void counters_close(struct counter_set *cs)
{
	free(cs);
}

/* The kernel runs cpu-clock at a period of at least 10 us, whatever is asked. */
#define SAMPLER_MAX_HZ	100000u

/* kernel.perf_event_max_sample_rate, or 0 when it cannot be read. */
static unsigned int max_sample_rate(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(MAX_SAMPLE_RATE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoul(buf, NULL, 10);
}

struct sampler {
	__u64 period_ns;
	unsigned int hz;
	int prog_fd;	/* the caller's */
	int nr_cpus;
	int nr_open;	/* CPUs sampled */
	int fd[];	/* by CPU; -1 where offline */
};

/* The rate's bounds; 0 or -1 with errno and a one-line reason in why. */
static int sampler_rate_ok(unsigned int hz, char *why, size_t len)
{
	unsigned int limit;

	if (!hz || hz > SAMPLER_MAX_HZ) {
		kt_why(why, len, "sampling rate %u Hz is out of range (1 to %u)", hz,
			SAMPLER_MAX_HZ);
		errno = EINVAL;
		return -1;
	}
	/* Above the kernel's limit it throttles the events and samples go missing. */
	limit = max_sample_rate();
	if (limit && hz > limit) {
		kt_why(why, len, "sampling rate %u Hz is above the kernel's limit of %u "
			"(kernel.perf_event_max_sample_rate)", hz, limit);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * A cpu-clock sampling event on cpu at hz with prog_fd attached, off until enabled (so no
 * sample goes unseen). A fixed period, not a frequency: the kernel would otherwise vary it to
 * hit the rate. Returns its fd, or -1 with errno and why (ENODEV: the CPU is offline).
 */
static int sampling_event_open(int cpu, unsigned int hz, int prog_fd, char *why, size_t len)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ull / hz,
		.disabled = 1,
	};
	int fd = perf_open(&attr, cpu), err;

	if (fd < 0) {
		kt_why(why, len, "cannot open a cpu-clock sampling event on CPU %d: %s", cpu,
			strerror(errno));
		return -1;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd)) {
		err = errno;
		kt_why(why, len, "cannot attach the sampling program on CPU %d: %s", cpu,
			strerror(err));
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct sampler *sampler_open_fd(int prog_fd, unsigned int hz, char *why, size_t len)
{
	int nr = possible_cpus(), cpu, fd, err;
	struct sampler *s;
	bool *online;

	if (nr < 0) {
		kt_why(why, len, "cannot count the possible CPUs: %s", strerror(errno));
		return NULL;
	}
	if (sampler_rate_ok(hz, why, len))
		return NULL;
	if (prog_fd < 0) {
		kt_why(why, len, "the sampling program is not loaded");
		errno = EBADF;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + (size_t)nr * sizeof(s->fd[0]));
	online = online_cpus(nr);
	if (!s || !online) {
		free(s);
		free(online);
		kt_why(why, len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->period_ns = 1000000000ull / hz;
	s->hz = hz;
	s->prog_fd = prog_fd;
	s->nr_cpus = nr;
	for (cpu = 0; cpu < nr; cpu++)
		s->fd[cpu] = -1;

	for (cpu = 0; cpu < nr; cpu++) {
		if (!online[cpu])
			continue;
		fd = sampling_event_open(cpu, hz, prog_fd, why, len);
		if (fd < 0 && errno == ENODEV)
			continue;	/* went offline since we looked */
		if (fd < 0) {
			err = errno;
			goto fail;
		}
		s->fd[cpu] = fd;
		if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
			err = errno;
			kt_why(why, len, "cannot enable the sampling event on CPU %d: %s", cpu,
				strerror(err));
			goto fail;
		}
		s->nr_open++;
	}
	if (!s->nr_open) {
		err = ENODEV;
		kt_why(why, len, "no online CPU to sample");
		goto fail;
	}
	free(online);
	return s;

fail:
	free(online);
	sampler_close(s);
	errno = err;
	return NULL;
}

int sampler_set_hz(struct sampler *s, unsigned int hz, char *why, size_t len)
{
	__u64 period;
	int cpu;

	if (sampler_rate_ok(hz, why, len))
		return -1;
	period = 1000000000ull / hz;
	for (cpu = 0; cpu < s->nr_cpus; cpu++) {
		if (s->fd[cpu] >= 0 && ioctl(s->fd[cpu], PERF_EVENT_IOC_PERIOD, &period)) {
			kt_why(why, len, "cannot change the sampling period on CPU %d: %s", cpu,
				strerror(errno));
			return -1;
		}
	}
	s->period_ns = period;
	s->hz = hz;
	return 0;
}

int sampler_probe_open(const struct sampler *s, int cpu, unsigned int hz, char *why, size_t len)
{
	return sampling_event_open(cpu, hz, s->prog_fd, why, len);
}

unsigned int sampler_max_hz(void)
{
	unsigned int limit = max_sample_rate();

	return limit && limit < SAMPLER_MAX_HZ ? limit : SAMPLER_MAX_HZ;
}

unsigned int sampler_hz(const struct sampler *s)
{
	return s ? s->hz : 0;
}

int sampler_nr_cpus(const struct sampler *s)
{
	return s ? s->nr_open : 0;
}

struct sampler *sampler_open(struct bpf_program *prog, unsigned int hz, char *why, size_t len)
{
	if (!prog) {
		kt_why(why, len, "no sampling program");
		errno = EINVAL;
		return NULL;
	}
	return sampler_open_fd(bpf_program__fd(prog), hz, why, len);
}

__u64 sampler_period_ns(const struct sampler *s)
{
	return s ? s->period_ns : 0;
}

void sampler_close(struct sampler *s)
{
	int cpu;

	if (!s)
		return;
	/* Closing the event also detaches the program from it. */
	for (cpu = 0; cpu < s->nr_cpus; cpu++)
		if (s->fd[cpu] >= 0)
			close(s->fd[cpu]);
	free(s);
}
