// SPDX-License-Identifier: GPL-2.0
/* The plug's poller: a thread of its own asks the plug for its watts over HTTP (libcurl), so
 * that the tracer's sampling never waits for the plug. */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edimax.h"
#include "edimax_proto.h"
#include "log.h"

/* One warning line per fault kind per this many seconds; the rest are counted. */
#define WARN_EVERY_S	60.0

enum fault {
	F_DNS,
	F_CONNECT,
	F_TIMEOUT,
	F_NETWORK,
	F_TOO_BIG,
	F_AUTH,
	F_HTTP,
	F_EMPTY,
	F_FAILED,
	F_NO_METERING,
	F_MALFORMED,
	F_OTHER,
	NR_FAULTS,
};

struct edimax {
	char where[300];		/* HOST:PORT, for messages */
	double period_s;		/* shortest time between two request starts */
	double offset_s;		/* from an interval's start to its poll */
	long limit_ms;			/* whole request, name lookup and auth round in it */

	CURL *curl;
	CURLM *multi;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	pthread_t thread;
	atomic_bool stop;

	pthread_mutex_t lock;		/* guards the three fields below */
	double poll_at;			/* monotonic time of the next poll; 0: none asked */
	bool fresh;			/* a reading completed since the last edimax_sample() */
	double watts;
	double done_at;			/* when it completed */

	/* The poller's own. */
	char *body;
	size_t body_len;
	bool too_big;
	long auth;			/* the methods offered to libcurl */
	double last_start;
	struct {
		bool said;
		double at;
		unsigned long hidden;
	} warned[NR_FAULTS];
	unsigned long failed;		/* polls failed since the last reading */
	bool warned_since_ok;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* At most one line per kind per WARN_EVERY_S, so a plug that is down for an hour costs a
 * line a minute, not one per interval. */
static void fault(struct edimax *e, enum fault f, const char *what)
{
	double now = now_s();

	e->failed++;
	if (e->warned[f].said && now - e->warned[f].at < WARN_EVERY_S) {
		e->warned[f].hidden++;
		return;
	}
	if (e->warned[f].hidden)
		kt_warn("plug %s: %s: power unknown for this interval (%lu more since the last "
			"such warning)", e->where, what, e->warned[f].hidden);
	else
		kt_warn("plug %s: %s: power unknown for this interval", e->where, what);
	e->warned[f].said = true;
	e->warned[f].at = now;
	e->warned[f].hidden = 0;
	e->warned_since_ok = true;
}

static void reading(struct edimax *e, double watts)
{
	double now = now_s();

	pthread_mutex_lock(&e->lock);
	e->fresh = true;
	e->watts = watts;
	e->done_at = now;
	pthread_mutex_unlock(&e->lock);
	/* Said only after a warning was printed, so that a flapping plug stays within the
	 * warnings' own rate. */
	if (e->warned_since_ok)
		kt_info("plug %s: readings are back after %lu failed poll%s", e->where, e->failed,
			e->failed == 1 ? "" : "s");
	e->failed = 0;
	e->warned_since_ok = false;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct edimax *e = arg;
	size_t n = size * nmemb;

	if (n > EDIMAX_MAX_BODY - e->body_len) {
		/* Returning short aborts the transfer: no more of it is read. */
		e->too_big = true;
		return 0;
	}
	memcpy(e->body + e->body_len, data, n);
	e->body_len += n;
	return n;
}

static void transfer_failed(struct edimax *e, CURLcode res)
{
	char what[CURL_ERROR_SIZE + 64];
	const char *detail = e->errbuf[0] ? e->errbuf : curl_easy_strerror(res);

	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
		fault(e, F_DNS, "cannot resolve the host name");
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(what, sizeof(what), "cannot connect (%s)", detail);
		fault(e, F_CONNECT, what);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(what, sizeof(what), "no complete answer within %ld ms", e->limit_ms);
		fault(e, F_TIMEOUT, what);
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (e->too_big || res == CURLE_FILESIZE_EXCEEDED) {
			fault(e, F_TOO_BIG, "reply larger than 64 KiB, dropped");
			break;
		}
		/* fallthrough */
	default:
		snprintf(what, sizeof(what), "transfer failed (%s)", detail);
		fault(e, F_NETWORK, what);
		break;
	}
}

static void finished(struct edimax *e, CURLcode res)
{
	char what[96];
	long status = 0, avail = 0;
	double watts;
	int st;

	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401) {
		/* Maybe new firmware with another scheme: let libcurl probe again next time. */
		e->auth = CURLAUTH_BASIC | CURLAUTH_DIGEST;
		fault(e, F_AUTH, "HTTP 401, user or password refused (see " EDIMAX_ENV_USER ", "
				 EDIMAX_ENV_PASSWORD " or " EDIMAX_CONFIG_DEFAULT ")");
		return;
	}
	if (res != CURLE_OK) {
		transfer_failed(e, res);
		return;
	}
	if (status != 200) {
		snprintf(what, sizeof(what), "HTTP status %ld", status);
		fault(e, F_HTTP, what);
		return;
	}
	/* With both schemes allowed, libcurl first asks unauthenticated to learn which one the
	 * plug wants: one extra request per poll. Once known, keep only that one. */
	if (e->auth == (CURLAUTH_BASIC | CURLAUTH_DIGEST) &&
	    !curl_easy_getinfo(e->curl, CURLINFO_HTTPAUTH_AVAIL, &avail)) {
		if (avail & CURLAUTH_DIGEST)
			e->auth = CURLAUTH_DIGEST;
		else if (avail & CURLAUTH_BASIC)
			e->auth = CURLAUTH_BASIC;
	}
	st = edimax_parse_reply(e->body, e->body_len, &watts, NULL);
	switch (st) {
	case EDIMAX_OK:
		reading(e, watts);
		break;
	case EDIMAX_FAILED:
		fault(e, F_FAILED, "answered FAILED, the command was refused");
		break;
	case EDIMAX_NO_METERING:
		fault(e, F_NO_METERING,
		      "no NowPower in the reply, a plug without a meter (SP-1101W?)");
		break;
	default:
		if (!e->body_len) {
			fault(e, F_EMPTY, "empty reply");
		} else {
			snprintf(what, sizeof(what), "malformed reply (%zu bytes)", e->body_len);
			fault(e, F_MALFORMED, what);
		}
		break;
	}
}

/* One request, driven through the multi interface so that edimax_close() can interrupt it
 * at once with curl_multi_wakeup(). */
static void poll_once(struct edimax *e)
{
	CURLcode res = CURLE_OK;
	bool done = false;
	int running = 1, left;
	CURLMsg *msg;

	e->body_len = 0;
	e->too_big = false;
	e->errbuf[0] = '\0';
	curl_easy_setopt(e->curl, CURLOPT_HTTPAUTH, e->auth);
	if (curl_multi_add_handle(e->multi, e->curl) != CURLM_OK) {
		fault(e, F_OTHER, "libcurl refused the request");
		return;
	}
	while (!atomic_load(&e->stop)) {
		if (curl_multi_perform(e->multi, &running) != CURLM_OK || !running)
			break;
		curl_multi_poll(e->multi, NULL, 0, 1000, NULL);
	}
	while ((msg = curl_multi_info_read(e->multi, &left))) {
		if (msg->msg == CURLMSG_DONE) {
			res = msg->data.result;
			done = true;
		}
	}
	curl_multi_remove_handle(e->multi, e->curl);
	if (done && !atomic_load(&e->stop))
		finished(e, res);
}

static void *poller(void *arg)
{
	struct edimax *e = arg;
	double due, now;
	bool go;
	int wait_ms;

	while (!atomic_load(&e->stop)) {
		/* Decided and cleared in one hold of the lock: a poll asked for in between is
		 * never lost. */
		pthread_mutex_lock(&e->lock);
		due = e->poll_at;
		if (due > 0 && due < e->last_start + e->period_s)
			due = e->last_start + e->period_s;
		now = now_s();
		go = due > 0 && now >= due;
		if (go)
			e->poll_at = 0;
		pthread_mutex_unlock(&e->lock);
		if (go) {
			e->last_start = now;
			poll_once(e);
			continue;
		}
		/* Woken early by edimax_sample() (a new poll time) or edimax_close(). */
		wait_ms = due > 0 ? (int)((due - now) * 1000) + 1 : 60000;
		curl_multi_poll(e->multi, NULL, 0, wait_ms, NULL);
	}
	return NULL;
}

static int setup_curl(struct edimax *e, const char *host, unsigned int port,
		      const struct edimax_creds *c)
{
	char url[320];
	CURL *h = e->curl;
	int err = 0;

	snprintf(url, sizeof(url), "http://%s:%u/smartplug.cgi", host, port);
	e->headers = curl_slist_append(NULL, "Content-Type: text/xml");
	/* The body is small, but never wait for a 100-continue the plug does not send. */
	if (e->headers)
		e->headers = curl_slist_append(e->headers, "Expect:");
	if (!e->headers)
		return -1;
	err |= curl_easy_setopt(h, CURLOPT_URL, url);
	err |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers);
	err |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, edimax_request);
	err |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(edimax_request));
	err |= curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
	err |= curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	err |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, e->limit_ms);
	err |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, e->limit_ms);
	err |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* The plug is on the local network: an http_proxy meant for the Internet must not
	 * see its password. */
	err |= curl_easy_setopt(h, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	err |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	err |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	/* The plug serves one connection at a time: an idle keep-alive one would lock out
	 * its own app between our polls. */
	err |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	err |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)EDIMAX_MAX_BODY);
	err |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	err |= curl_easy_setopt(h, CURLOPT_WRITEDATA, e);
	err |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, e->errbuf);
	err |= curl_easy_setopt(h, CURLOPT_USERAGENT, "kvmtrace-bpf");
	return err ? -1 : 0;
}

struct edimax *edimax_open(const char *host, unsigned int port, const struct edimax_creds *c,
			   double interval_s, double min_period_s, char *why, size_t len)
{
	sigset_t all, old;
	struct edimax *e;
	double limit;
	int err;

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(why, len, "cannot initialise libcurl");
		return NULL;
	}
	/* Before the poller exists, which parses the replies. */
	edimax_proto_init();
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->body = malloc(EDIMAX_MAX_BODY);
	if (!e->body)
		goto nomem;
	snprintf(e->where, sizeof(e->where), "%s:%u", host, port);
	pthread_mutex_init(&e->lock, NULL);
	atomic_init(&e->stop, false);
	e->auth = CURLAUTH_BASIC | CURLAUTH_DIGEST;
	e->period_s = interval_s > min_period_s ? interval_s : min_period_s;
	limit = 0.8 * e->period_s;
	if (limit > EDIMAX_MAX_LIMIT_S)
		limit = EDIMAX_MAX_LIMIT_S;
	e->limit_ms = (long)(limit * 1000);
	/* The poll goes as near the interval's middle as the time limit allows while still
	 * ending before 90% of it: one instant that stands for the whole interval, read within
	 * it. Intervals shorter than the limit poll at their start. */
	e->offset_s = interval_s - limit - 0.1 * interval_s;
	if (e->offset_s > interval_s / 2)
		e->offset_s = interval_s / 2;
	if (e->offset_s < 0)
		e->offset_s = 0;
	e->last_start = -1e9;
	e->poll_at = now_s() + e->offset_s;

	e->curl = curl_easy_init();
	e->multi = curl_multi_init();
	if (!e->curl || !e->multi || setup_curl(e, host, port, c)) {
		snprintf(why, len, "cannot set up libcurl for the plug");
		goto fail;
	}
	/* Signals stay with the main thread, whose waits they are meant to interrupt. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&e->thread, NULL, poller, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		snprintf(why, len, "cannot start the plug poller: %s", strerror(err));
		goto fail;
	}
	pthread_setname_np(e->thread, "kt-plug");
	return e;
nomem:
	snprintf(why, len, "out of memory");
fail:
	if (e) {
		if (e->multi)
			curl_multi_cleanup(e->multi);
		if (e->curl)
			curl_easy_cleanup(e->curl);
		curl_slist_free_all(e->headers);
		free(e->body);
		free(e);
	}
	curl_global_cleanup();
	return NULL;
}

bool edimax_sample(struct edimax *e, double interval_s, double *watts)
{
	double now = now_s();
	bool ok;

	pthread_mutex_lock(&e->lock);
	/* A reading from before the interval (the first poll, when the tracer's first interval
	 * began well after edimax_open(); or a tracer that stalled) does not describe it. */
	ok = e->fresh && e->done_at >= now - interval_s;
	if (ok)
		*watts = e->watts;
	e->fresh = false;
	e->poll_at = now + e->offset_s;
	pthread_mutex_unlock(&e->lock);
	curl_multi_wakeup(e->multi);
	return ok;
}

void edimax_close(struct edimax *e)
{
	if (!e)
		return;
	atomic_store(&e->stop, true);
	curl_multi_wakeup(e->multi);
	pthread_join(e->thread, NULL);
	curl_multi_cleanup(e->multi);
	/* libcurl keeps its own copy of the password: wipe what it can, then ours is gone
	 * with the struct. */
	curl_easy_setopt(e->curl, CURLOPT_PASSWORD, "");
	curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	pthread_mutex_destroy(&e->lock);
	free(e->body);
	free(e);
	curl_global_cleanup();
}
