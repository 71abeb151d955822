// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edimax.h"
#include "log.h"

/* The plug checks the envelope (a wrong id gets "XML Header error"), encoding name included. */
static const char request_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF8\"?><SMARTPLUG id=\"edimax\"><CMD id=\"get\">"
	"<NOW_POWER><Device.System.Power.NowPower/><Device.System.Power.NowCurrent/></NOW_POWER>"
	"</CMD></SMARTPLUG>";

#define NOW_POWER	"Device.System.Power.NowPower"
#define NOW_CURRENT	"Device.System.Power.NowCurrent"

/* Digits kept by the number parser: below 2^53, so the result is the correctly rounded double. */
#define MAX_DIGITS	15
/* One warning line per fault kind per this many seconds; the rest are counted. */
#define WARN_EVERY_S	60.0

/* ---- reply parser ---- */

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The body, blanks around it ignored, is exactly word. */
static bool body_is(const char *b, size_t len, const char *word)
{
	size_t n = strlen(word);

	while (len && is_blank((unsigned char)b[0])) {
		b++;
		len--;
	}
	while (len && is_blank((unsigned char)b[len - 1]))
		len--;
	return len == n && !memcmp(b, word, n);
}

/* Text of an element made only of text (and comments): an element or entity reference inside
 * a value is not something the plug sends, so it makes the reply malformed. -1 when too long. */
static int element_text(const xmlNode *el, char *buf, size_t size)
{
	const xmlNode *c;
	size_t used = 0, n;

	buf[0] = '\0';
	for (c = el->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return -1;
		n = c->content ? strlen((const char *)c->content) : 0;
		if (n >= size - used)
			return -1;
		memcpy(buf + used, c->content, n);
		used += n;
		buf[used] = '\0';
	}
	return 0;
}

/* A decimal "123" or "25.53", blanks around it allowed: no sign, exponent, hex, inf or nan,
 * and independent of the locale (strtod follows LC_NUMERIC). 1 when blank, -1 when bad. */
static int parse_decimal(const char *s, double max, double *out)
{
	unsigned long long mant = 0;
	unsigned int digits = 0, frac = 0;
	bool dot = false, seen = false;
	double v;

	while (is_blank((unsigned char)*s))
		s++;
	if (!*s)
		return 1;
	for (; *s && !is_blank((unsigned char)*s); s++) {
		if (*s == '.' && !dot && seen) {
			dot = true;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		seen = true;
		/* Leading zeros carry no precision. */
		if (!mant && !dot && *s == '0')
			continue;
		if (++digits > MAX_DIGITS) {
			/* Past double precision: further fraction digits change nothing, further
			 * integer digits make a value far beyond max. */
			if (!dot)
				return -1;
			continue;
		}
		mant = mant * 10 + (unsigned long long)(*s - '0');
		if (dot)
			frac++;
	}
	/* "25." is not how the plug writes a number. */
	if (s[-1] == '.')
		return -1;
	while (is_blank((unsigned char)*s))
		s++;
	if (*s)
		return -1;
	v = (double)mant;
	if (frac) {
		double p = 1;

		while (frac--)
			p *= 10;
		v /= p;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static bool name_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* Next element in document order, without recursion so that depth costs no stack. */
static const xmlNode *next_node(const xmlNode *n, const xmlNode *root)
{
	if (n->children && n->type == XML_ELEMENT_NODE)
		return n->children;
	while (n != root) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

int edimax_parse_reply(const char *body, size_t len, double *watts, double *amps)
{
	/* No entity substitution, no DTD loading, no network; errors not printed. The plug
	 * writes ASCII under encoding="UTF8": reading as UTF-8 whatever the declaration says
	 * keeps libxml2 away from its converters, whose errors it prints itself. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			 XML_PARSE_IGNORE_ENC;
	const xmlNode *root, *n, *power = NULL, *current = NULL;
	int status = EDIMAX_MALFORMED, r;
	char text[64];
	double w, a = NAN;
	xmlDoc *doc;

	if (!body || !len || len > EDIMAX_MAX_BODY)
		return EDIMAX_MALFORMED;
	if (body_is(body, len, "FAILED"))
		return EDIMAX_FAILED;
	/* What the plug says to a request whose envelope it does not accept. */
	if (body_is(body, len, "XML Header error"))
		return EDIMAX_FAILED;
	/* A plug sends no DTD; refusing one up front keeps entity definitions (and their
	 * expansion) out of the parser entirely. */
	if (memmem(body, len, "<!DOCTYPE", 9))
		return EDIMAX_MALFORMED;

	doc = xmlReadMemory(body, (int)len, NULL, "UTF-8", opts);
	if (!doc)
		return EDIMAX_MALFORMED;
	root = xmlDocGetRootElement(doc);
	if (!root || doc->intSubset || doc->extSubset || !name_is(root, "SMARTPLUG"))
		goto out;

	for (n = root; n; n = next_node(n, root)) {
		if (name_is(n, "CMD")) {
			if (element_text(n, text, sizeof(text)) == 0 &&
			    body_is(text, strlen(text), "FAILED")) {
				status = EDIMAX_FAILED;
				goto out;
			}
		} else if (name_is(n, NOW_POWER)) {
			/* Two values for one quantity: which one would be the reading? */
			if (power)
				goto out;
			power = n;
		} else if (name_is(n, NOW_CURRENT)) {
			if (current)
				goto out;
			current = n;
		}
	}
	if (!power) {
		status = EDIMAX_NO_METERING;
		goto out;
	}
	if (element_text(power, text, sizeof(text)))
		goto out;
	r = parse_decimal(text, EDIMAX_MAX_WATTS, &w);
	if (r) {
		/* An empty NowPower is a plug that has the field but no meter behind it. */
		if (r > 0)
			status = EDIMAX_NO_METERING;
		goto out;
	}
	if (current) {
		/* Amps are informative only, but a garbled value makes the reply suspect. */
		if (element_text(current, text, sizeof(text)))
			goto out;
		r = parse_decimal(text, EDIMAX_MAX_AMPS, &a);
		if (r < 0)
			goto out;
		if (r > 0)
			a = NAN;
	}
	*watts = w;
	if (amps)
		*amps = a;
	status = EDIMAX_OK;
out:
	xmlFreeDoc(doc);
	return status;
}

const char *edimax_status_str(int status)
{
	switch (status) {
	case EDIMAX_OK:
		return "ok";
	case EDIMAX_FAILED:
		return "failed";
	case EDIMAX_NO_METERING:
		return "no metering";
	case EDIMAX_MALFORMED:
		return "malformed";
	}
	return "unknown";
}

/* ---- target and credentials ---- */

static bool host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static int parse_port(const char *s, unsigned int *port, char *why, size_t len)
{
	unsigned long v = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s > 5)
			break;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (!*s || *p || !v || v > 65535) {
		snprintf(why, len, "bad plug port '%s': expected 1 to 65535", s);
		return -1;
	}
	*port = (unsigned int)v;
	return 0;
}

int edimax_parse_target(const char *s, char *host, size_t host_len, unsigned int *port,
			char *why, size_t len)
{
	struct in6_addr a6;
	char addr[INET6_ADDRSTRLEN + 1];
	const char *end, *colon, *p;
	size_t n;

	*port = EDIMAX_DEFAULT_PORT;
	if (!s || !*s) {
		snprintf(why, len, "no plug host: expected edimax:HOST[:PORT]");
		return -1;
	}
	if (s[0] == '[') {
		end = strchr(s, ']');
		n = end ? (size_t)(end - s - 1) : 0;
		if (!end || !n || n >= sizeof(addr)) {
			snprintf(why, len, "bad plug address '%s': expected [IPV6] or [IPV6]:PORT",
				 s);
			return -1;
		}
		memcpy(addr, s + 1, n);
		addr[n] = '\0';
		/* Only a plain address: a zone id would need escaping in the URL. */
		if (inet_pton(AF_INET6, addr, &a6) != 1) {
			snprintf(why, len, "bad plug address '%s': not an IPv6 address", addr);
			return -1;
		}
		if (end[1] && end[1] != ':') {
			snprintf(why, len, "bad plug port in '%s': expected [IPV6]:PORT", s);
			return -1;
		}
		if (end[1] && parse_port(end + 2, port, why, len))
			return -1;
		n += 2;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			snprintf(why, len, "bad plug host '%s': an IPv6 address goes in brackets, "
				 "edimax:[ADDR]:PORT", s);
			return -1;
		}
		n = colon ? (size_t)(colon - s) : strlen(s);
		for (p = s; p < s + n; p++) {
			if (!host_char((unsigned char)*p)) {
				snprintf(why, len, "bad plug host '%.*s': letters, digits, '-', "
					 "'.' and '_' only", (int)n, s);
				return -1;
			}
		}
		if (!n || n > 253 || s[0] == '-' || s[0] == '.') {
			snprintf(why, len, "bad plug host '%.*s'", (int)n, s);
			return -1;
		}
		if (colon && parse_port(colon + 1, port, why, len))
			return -1;
	}
	if (n >= host_len) {
		snprintf(why, len, "plug host too long");
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (is_blank((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int set_field(char *dst, size_t size, const char *val, const char *what,
		     const char *where, char *why, size_t len)
{
	if (strlen(val) >= size) {
		snprintf(why, len, "%s: %s longer than %zu characters", where, what, size - 1);
		return -1;
	}
	strcpy(dst, val);
	return 0;
}

/* Reads user= and password= from path. 1 when an unnamed default file does not exist. */
static int read_config(const char *path, bool named, struct edimax_creds *c, bool *got_user,
		       bool *got_password, char *why, size_t len)
{
	char line[512], iobuf[1024];
	int fd, lineno = 0, ret = -1;
	struct stat st;
	FILE *f;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && !named)
			return 1;
		snprintf(why, len, "cannot read plug credentials %s: %s", path, strerror(errno));
		return -1;
	}
	/* Checked on the open file, so the file checked is the file read. */
	if (fstat(fd, &st)) {
		snprintf(why, len, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "plug credentials %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		snprintf(why, len, "plug credentials %s are readable or writable by others "
			 "(mode %04o): chmod 600 it", path, (unsigned int)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	/* Someone else's file could say anything; ours or root's only, as ssh does. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(why, len, "plug credentials %s belong to uid %u, not to this user or root",
			 path, (unsigned int)st.st_uid);
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(why, len, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* stdio's buffer would hold the file too: ours is wiped at the end. */
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	while (fgets(line, sizeof(line), f)) {
		char *key, *val, *eq;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(why, len, "%s:%d: line too long", path, lineno);
			goto out;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(why, len, "%s:%d: expected user=... or password=...", path,
				 lineno);
			goto out;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if (!strcmp(key, "user")) {
			if (!*val) {
				snprintf(why, len, "%s:%d: empty user", path, lineno);
				goto out;
			}
			if (set_field(c->user, sizeof(c->user), val, "user", path, why, len))
				goto out;
			*got_user = true;
		} else if (!strcmp(key, "password")) {
			if (set_field(c->password, sizeof(c->password), val, "password", path, why,
				      len))
				goto out;
			*got_password = true;
		} else {
			snprintf(why, len, "%s:%d: unknown key '%.32s': expected user or password",
				 path, lineno, key);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(why, len, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	/* The buffers held a password. */
	fclose(f);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(iobuf, sizeof(iobuf));
	return ret;
}

int edimax_load_creds(struct edimax_creds *c, char *why, size_t len)
{
	const char *path = getenv(EDIMAX_ENV_CONFIG), *user, *password;
	bool named = path && *path, got_user = false, got_password = false;
	int r;

	memset(c, 0, sizeof(*c));
	if (!named)
		path = EDIMAX_CONFIG_DEFAULT;
	r = read_config(path, named, c, &got_user, &got_password, why, len);
	if (r < 0)
		goto fail;
	if (!r)
		snprintf(c->source, sizeof(c->source), "%s", path);
	/* The environment wins, field by field, so one file can serve several runs. An empty
	 * variable counts as unset: it is more likely a leftover than an empty password. */
	user = getenv(EDIMAX_ENV_USER);
	password = getenv(EDIMAX_ENV_PASSWORD);
	if (user && *user) {
		if (set_field(c->user, sizeof(c->user), user, "user", EDIMAX_ENV_USER, why, len))
			goto fail;
		got_user = true;
	}
	if (password && *password) {
		if (set_field(c->password, sizeof(c->password), password, "password",
			      EDIMAX_ENV_PASSWORD, why, len))
			goto fail;
		got_password = true;
	}
	if ((user && *user) || (password && *password))
		snprintf(c->source, sizeof(c->source), "%s%s", r ? "" : path,
			 r ? "the environment" : " and the environment");
	c->factory = !got_user && !got_password;
	if (!got_user)
		strcpy(c->user, "admin");
	if (!got_password)
		strcpy(c->password, "1234");
	if (c->factory)
		snprintf(c->source, sizeof(c->source), "the factory default");
	return 0;
fail:
	/* A file refused after its password was read leaves none behind. */
	explicit_bzero(c, sizeof(*c));
	return -1;
}

/* ---- poller ---- */

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
	err |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, request_xml);
	err |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(sizeof(request_xml) - 1));
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
	/* Before the poller exists: libxml2's one-time setup is not thread-safe. */
	xmlInitParser();
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
