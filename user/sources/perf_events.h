/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The perf events behind the BPF programs: per-CPU counters that the programs read from the
 * "counters" PERF_EVENT_ARRAY, and the cpu-clock sampler that runs the sampling program.
 * Events are opened on the CPUs online at startup; CPUs brought online later are not covered.
 */
#ifndef KT_PERF_EVENTS_H
#define KT_PERF_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>

#include "kvmtrace.h"
#include "perf_names.h"

/* The per-CPU events of the counters, open and stored in the BPF map. */
struct counter_set;

/*
 * Opens spec[i] (n <= KT_MAX_COUNTERS) on every online CPU c, counting guest mode too, and stores
 * the event at c * KT_MAX_COUNTERS + i in the PERF_EVENT_ARRAY map map_fd. The map then holds the
 * events (no descriptor is kept here): they count until map_fd is closed. A counter that cannot
 * be opened anywhere (no PMU...) is left out with one warning; so is a CPU that refuses one.
 * Returns the set (possibly with nothing open), or NULL with errno set on allocation or map
 * update failure, with the map's slots for spec cleared again.
 */
struct counter_set *counters_open(const struct counter_spec *spec, size_t n, int map_fd);
/* Whether spec[i] is counted (opened on at least one CPU). */
bool counters_active(const struct counter_set *cs, size_t i);
/* Frees the set; the events themselves go with the map. */
void counters_close(struct counter_set *cs);

/*
 * The sampler: a cpu-clock sampling event on every online CPU at hz samples per second (a fixed
 * period of 1e9/hz ns of CPU time, not frequency mode, so each sample stands for exactly that
 * much time), with prog attached to each. hz is 1 to 100000 (the kernel's shortest cpu-clock
 * period is 10 us) and at most kernel.perf_event_max_sample_rate, above which the kernel would
 * throttle. Returns NULL with errno and a one-line reason in why when it cannot.
 */
struct sampler;
struct sampler *sampler_open(struct bpf_program *prog, unsigned int hz, char *why, size_t len);
/* The same with a loaded BPF_PROG_TYPE_PERF_EVENT program's fd (prog_fd stays the caller's). */
struct sampler *sampler_open_fd(int prog_fd, unsigned int hz, char *why, size_t len);
/* ns of CPU time one sample stands for. */
__u64 sampler_period_ns(const struct sampler *s);
/* The rate per CPU, and how many CPUs are sampled (0, 0 for NULL). */
unsigned int sampler_hz(const struct sampler *s);
int sampler_nr_cpus(const struct sampler *s);
/* The highest rate a sampler may take here: the kernel's limit, or 100000. */
unsigned int sampler_max_hz(void);
/* A new rate on every CPU, from the next sample on. 0, or -1 with errno and why. */
int sampler_set_hz(struct sampler *s, unsigned int hz, char *why, size_t len);
/*
 * One more sampling event on cpu at hz with the sampler's program, disabled, for measuring what
 * a sample costs: its fd (the caller closes it), or -1 with errno and why.
 */
int sampler_probe_open(const struct sampler *s, int cpu, unsigned int hz, char *why, size_t len);
void sampler_close(struct sampler *s);

/*
 * Parses a kernel CPU list ("0-3,5,7-8\n", as in /sys/devices/system/cpu/online) into cpus[nr].
 * CPUs at or above nr are ignored. Returns 0, or -1 if the list is malformed.
 */
int cpu_list_parse(const char *list, bool *cpus, int nr);

#endif /* KT_PERF_EVENTS_H */
