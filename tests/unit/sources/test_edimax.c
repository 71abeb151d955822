// SPDX-License-Identifier: GPL-2.0
/* Edimax plug poller against tests/power/plug_emulator.py: readings in their intervals, every
 * fault costing its own interval only, a hung or absent plug never holding up sampling. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "edimax.h"
#include "edimax_fixture.h"
#include "power.h"

#define MAX_EMU 4

struct emu {
	pid_t pid;
	unsigned int port;
	char log[128];
};

static const char *emulator_path(void)
{
	const char *p = getenv("KT_PLUG_EMULATOR");

	return p ? p : "tests/power/plug_emulator.py";
}

static bool have_emulator(void)
{
	return access("/usr/bin/python3", X_OK) == 0 && access(emulator_path(), R_OK) == 0;
}

/* Starts the emulator on a free loopback port, steps given as NULL-terminated list. */
static void emu_start(struct emu *m, const char *auth, const char *const *steps)
{
	const char *argv[64] = { "/usr/bin/python3", emulator_path(), "--port", "0", "--auth", auth,
				 "--log" };
	char line[128] = "";
	struct pollfd pfd;
	int fds[2], argc = 7, i;
	ssize_t n, got = 0;

	snprintf(m->log, sizeof(m->log), "%s/emu-%d-%ld.log", tmp, getpid(), random());
	argv[argc++] = m->log;
	for (i = 0; steps[i] && argc < 62; i++)
		argv[argc++] = steps[i];
	argv[argc] = NULL;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	m->pid = fork();
	assert_true(m->pid >= 0);
	if (!m->pid) {
		/* Never outlive the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (!strchr(line, '\n') && got < (ssize_t)sizeof(line) - 1) {
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		n = read(fds[0], line + got, sizeof(line) - 1 - (size_t)got);
		assert_true(n > 0);
		got += n;
		line[got] = '\0';
	}
	close(fds[0]);
	assert_int_equal(sscanf(line, "listening on %*s %u", &m->port), 1);
}

static void emu_stop(struct emu *m)
{
	kill(m->pid, SIGTERM);
	waitpid(m->pid, NULL, 0);
}

/* Lines of the emulator's log that contain what. */
static int emu_count(const struct emu *m, const char *what)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(m->log, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* What a tracer does: sample every client at each interval's end. got[c][k] is NAN when
 * interval k of client c had no reading. Returns the longest edimax_sample() call. */
static double run_intervals(struct edimax **e, int nr, int intervals, double interval_s,
			    double got[][32])
{
	double start = mono(), t0, worst = 0, w;
	int k, c;

	for (k = 0; k < intervals; k++) {
		sleep_until(start + (k + 1) * interval_s);
		for (c = 0; c < nr; c++) {
			t0 = mono();
			got[c][k] = edimax_sample(e[c], interval_s, &w) ? w : NAN;
			if (mono() - t0 > worst)
				worst = mono() - t0;
		}
	}
	return worst;
}

static struct edimax *open_plug(const char *host, unsigned int port, double interval_s)
{
	struct edimax_creds c = { .user = "admin", .password = "1234" };
	struct edimax *e;
	char why[256] = "";

	e = edimax_open(host, port, &c, interval_s, interval_s, why, sizeof(why));
	if (!e)
		fail_msg("edimax_open: %s", why);
	return e;
}

/* Captures stderr (the warnings) into a file, to count lines. */
static int capture_stderr(const char *path)
{
	int saved = dup(STDERR_FILENO), fd;

	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

/* Restores stderr, echoes what was captured, and returns it (static buffer). */
static const char *release_stderr(int saved, const char *path)
{
	static char text[16384];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	fputs(text, stderr);
	return text;
}

static int count_lines(const char *text, const char *a, const char *b)
{
	const char *line = text, *end;
	char buf[1024];
	int n = 0;
	size_t len;

	for (; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		len = (size_t)(end - line);
		if (len > sizeof(buf) - 1)
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		n += strstr(buf, a) && (!b || strstr(buf, b));
	}
	return n;
}

#define INTERVAL 0.3

static void test_plug_readings(void **state)
{
	static const char *const basic_steps[] = { "10", "20.5", "0", "99999.5", "30.25", NULL };
	static const char *const digest_steps[] = { "1.5", "2.5", "3.5", "4.5", "5.5", NULL };
	struct edimax *e[2];
	struct emu m[2];
	double got[2][32], worst, want;
	int k, c, late = 0;

	(void)state;
	if (!have_emulator())
		skip();
	emu_start(&m[0], "basic", basic_steps);
	emu_start(&m[1], "digest", digest_steps);
	e[0] = open_plug("127.0.0.1", m[0].port, INTERVAL);
	e[1] = open_plug("localhost", m[1].port, INTERVAL);
	worst = run_intervals(e, 2, 5, INTERVAL, got);
	edimax_close(e[0]);
	edimax_close(e[1]);
	emu_stop(&m[0]);
	emu_stop(&m[1]);
	/* Each interval gets the step served during it, exactly. On a loaded machine a reply can
	 * come after its interval's end: that interval is then empty, never wrong. */
	for (k = 0; k < 5; k++) {
		for (c = 0; c < 2; c++) {
			want = atof(c ? digest_steps[k] : basic_steps[k]);
			if (isnan(got[c][k]))
				late++;
			else if (got[c][k] != want)
				fail_msg("client %d interval %d: %g W, not %g", c, k, got[c][k],
					 want);
		}
	}
	assert_true(late <= 1);
	/* One poll per interval (a sixth may start before the close), and once the scheme is
	 * known no probing request: Basic is sent up front, a Digest nonce is reused. */
	for (c = 0; c < 2; c++) {
		assert_in_range(emu_count(&m[c], "auth=ok"), 5, 6);
		assert_int_equal(emu_count(&m[c], "auth=none"), 1);
		assert_int_equal(emu_count(&m[c], "auth=bad"), 0);
	}
	assert_true(worst < 0.1);
}

/* Every fault the plug (or the network) can produce costs its own interval and nothing else. */
static void test_plug_faults(void **state)
{
	static const char *const a[] = { "401", "failed", "failed-bare", "header-error", "empty",
					 "500", "malformed", "truncated", "partial", "7", NULL };
	static const char *const b[] = { "big", "big-nolength", "nonnum", "negative", "huge",
					 "nometer", "hang", "close", "8", NULL };
	static const char *const c[] = { "401", "401", "401", "401", "9", NULL };
	const char *const *steps[] = { a, b, c };
	char errpath[160], where[64];
	struct edimax *e[3];
	struct emu m[3];
	double got[3][32], worst, want;
	const char *text;
	int i, k, saved;

	(void)state;
	if (!have_emulator())
		skip();
	for (i = 0; i < 3; i++)
		emu_start(&m[i], i == 1 ? "digest" : "basic", steps[i]);
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmp);
	saved = capture_stderr(errpath);
	for (i = 0; i < 3; i++)
		e[i] = open_plug("127.0.0.1", m[i].port, INTERVAL);
	/* One interval more than the longest script, for a last reading that comes late. */
	worst = run_intervals(e, 3, 11, INTERVAL, got);
	for (i = 0; i < 3; i++) {
		edimax_close(e[i]);
		emu_stop(&m[i]);
	}
	text = release_stderr(saved, errpath);
	for (i = 0; i < 3; i++) {
		for (k = 0; steps[i][k + 1]; k++)
			if (!isnan(got[i][k]))
				fail_msg("fault %s gave %g W", steps[i][k], got[i][k]);
		/* The last step repeats: its value shows in its interval, or in the next one if the
		 * machine is so loaded that the reply came late. */
		want = atof(steps[i][k]);
		if (got[i][k] != want && !(isnan(got[i][k]) && got[i][k + 1] == want))
			fail_msg("client %d interval %d: %g W, not %g", i, k, got[i][k], want);
	}
	/* A hung plug does not hold up sampling. */
	assert_true(worst < 0.1);
	/* One warning per fault kind within the minute, one line when readings are back. */
	snprintf(where, sizeof(where), "127.0.0.1:%u:", m[2].port);
	assert_int_equal(count_lines(text, where, "HTTP 401"), 1);
	assert_int_equal(count_lines(text, where, "readings are back after 4 failed polls"), 1);
	assert_int_equal(count_lines(text, where, NULL), 2);
	snprintf(where, sizeof(where), "127.0.0.1:%u:", m[0].port);
	/* FAILED, bare FAILED and "XML Header error" are one kind: the plug refused. */
	assert_int_equal(count_lines(text, where, "FAILED"), 1);
	assert_int_equal(count_lines(text, where, "empty reply"), 1);
	assert_int_equal(count_lines(text, where, "HTTP status 500"), 1);
	/* malformed and truncated: one kind. */
	assert_int_equal(count_lines(text, where, "malformed reply"), 1);
	assert_int_equal(count_lines(text, where, "transfer failed"), 1);
	snprintf(where, sizeof(where), "127.0.0.1:%u:", m[1].port);
	assert_int_equal(count_lines(text, where, "larger than 64 KiB"), 1);
	assert_int_equal(count_lines(text, where, "no complete answer within 240 ms"), 1);
	assert_int_equal(count_lines(text, where, "without a meter"), 1);
	assert_int_equal(count_lines(text, "kvmtrace-bpf: ", NULL),
			 count_lines(text, "plug ", NULL));
}

static unsigned int free_port(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void test_plug_unreachable(void **state)
{
	struct edimax *e[2];
	double got[2][32], worst;
	char errpath[160];
	const char *text;
	int saved, k;

	(void)state;
	snprintf(errpath, sizeof(errpath), "%s/stderr2", tmp);
	saved = capture_stderr(errpath);
	e[0] = open_plug("127.0.0.1", free_port(), INTERVAL);
	e[1] = open_plug("kt-plug.invalid", EDIMAX_DEFAULT_PORT, INTERVAL);
	worst = run_intervals(e, 2, 3, INTERVAL, got);
	edimax_close(e[0]);
	edimax_close(e[1]);
	text = release_stderr(saved, errpath);
	for (k = 0; k < 3; k++) {
		assert_true(isnan(got[0][k]));
		assert_true(isnan(got[1][k]));
	}
	assert_true(worst < 0.1);
	assert_int_equal(count_lines(text, "cannot connect", NULL), 1);
	/* Without a resolver at hand the lookup times out instead: one line, or one of each. */
	assert_in_range(count_lines(text, "kt-plug.invalid", NULL), 1, 2);
}

static void test_plug_close_while_hung(void **state)
{
	static const char *const steps[] = { "hang", NULL };
	struct edimax *e;
	struct emu m;
	double t0;

	(void)state;
	if (!have_emulator())
		skip();
	emu_start(&m, "none", steps);
	/* A 1 s interval: a 800 ms limit, the request starts 100 ms in. */
	e = open_plug("127.0.0.1", m.port, 1.0);
	usleep(300 * 1000);
	assert_int_equal(emu_count(&m, "reply=hang"), 1);
	t0 = mono();
	edimax_close(e);
	assert_true(mono() - t0 < 0.1);
	emu_stop(&m);
}

/* Through power_open(), as the tracer uses it: the factory credentials, said once, and the
 * plug's watts standing for the whole interval. */
static void test_power_source_plug(void **state)
{
	static const char *const steps[] = { "42.5", NULL };
	struct power_reading pr;
	struct power_source *p;
	char spec[64], why[256], errpath[160];
	const char *text;
	struct emu m;
	int saved;

	(void)state;
	if (!have_emulator() || access(EDIMAX_CONFIG_DEFAULT, F_OK) == 0)
		skip();
	emu_start(&m, "digest", steps);
	snprintf(spec, sizeof(spec), "edimax:127.0.0.1:%u", m.port);
	snprintf(errpath, sizeof(errpath), "%s/stderr3", tmp);
	saved = capture_stderr(errpath);
	p = power_open(spec, "/nonexistent", 1.0, why, sizeof(why));
	text = release_stderr(saved, errpath);
	assert_non_null(p);
	assert_string_equal(power_source_name(p), "edimax");
	assert_int_equal(count_lines(text, "factory admin/1234", NULL), 1);
	sleep_until(mono() + 1.0);
	power_sample(p, 1.0, &pr);
	assert_true(pr.valid);
	assert_true(pr.watts == 42.5);
	assert_true(pr.energy_j == 42.5);
	power_close(p);
	emu_stop(&m);
}

/* A reading from before the interval is not the interval's. */
static void test_plug_stale(void **state)
{
	static const char *const steps[] = { "5", NULL };
	struct edimax *e;
	struct emu m;
	double w, t0;

	(void)state;
	if (!have_emulator())
		skip();
	emu_start(&m, "basic", steps);
	/* The first poll completes about 30 ms after the open. */
	t0 = mono();
	e = open_plug("127.0.0.1", m.port, INTERVAL);
	sleep_until(t0 + 2 * INTERVAL);
	assert_false(edimax_sample(e, INTERVAL, &w));
	sleep_until(t0 + 3 * INTERVAL);
	assert_true(edimax_sample(e, INTERVAL, &w));
	assert_true(w == 5);
	edimax_close(e);
	emu_stop(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plug_readings),
		cmocka_unit_test(test_plug_faults),
		cmocka_unit_test(test_plug_unreachable),
		cmocka_unit_test(test_plug_close_while_hung),
		cmocka_unit_test(test_plug_stale),
		cmocka_unit_test_setup(test_power_source_plug, clear_env),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
