// SPDX-License-Identifier: GPL-2.0
/* Where the plug is and how to log in: its target from --power, its credentials from their
 * own file and the environment, never from options. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edimax_conf.h"
#include "hostport.h"
#include "secfile.h"

static bool host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

int edimax_parse_target(const char *s, char *host, size_t host_len, unsigned int *port,
			char *why, size_t len)
{
	struct hostport hp;
	const char *p;
	size_t n;

	*port = EDIMAX_DEFAULT_PORT;
	if (!s || !*s) {
		snprintf(why, len, "no plug host: expected edimax:HOST[:PORT]");
		return -1;
	}
	if (hostport_parse(s, "plug", 1, &hp, why, len))
		return -1;
	if (!hp.ipv6) {
		for (p = hp.host; p < hp.host + hp.host_len; p++) {
			if (!host_char((unsigned char)*p)) {
				snprintf(why, len, "bad plug host '%.*s': letters, digits, '-', "
					 "'.' and '_' only", (int)hp.host_len, hp.host);
				return -1;
			}
		}
		if (!hp.host_len || hp.host_len > 253 || hp.host[0] == '-' || hp.host[0] == '.') {
			snprintf(why, len, "bad plug host '%.*s'", (int)hp.host_len, hp.host);
			return -1;
		}
	}
	/* An IPv6 address keeps its brackets: it goes into the URL as it is. */
	p = hp.ipv6 ? hp.host - 1 : hp.host;
	n = hp.host_len + (hp.ipv6 ? 2 : 0);
	if (n >= host_len) {
		snprintf(why, len, "plug host too long");
		return -1;
	}
	memcpy(host, p, n);
	host[n] = '\0';
	if (hp.has_port)
		*port = hp.port;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
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
	int lineno = 0, ret = -1;
	FILE *f;

	f = secfile_open(path, SECFILE_SECRET, "plug credentials file", why, len);
	if (!f)
		return errno == ENOENT && !named ? 1 : -1;
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
