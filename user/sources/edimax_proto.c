// SPDX-License-Identifier: GPL-2.0
/* The plug's protocol: the query it answers and the reading of its reply. No I/O, no logging:
 * tests/fuzz/fuzz_edimax.c runs the parser on any bytes. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "edimax_proto.h"

#define NOW_POWER	"Device.System.Power.NowPower"
#define NOW_CURRENT	"Device.System.Power.NowCurrent"

/* The plug checks the envelope (a wrong id gets "XML Header error"), encoding name included. */
const char *const edimax_request =
	"<?xml version=\"1.0\" encoding=\"UTF8\"?><SMARTPLUG id=\"edimax\"><CMD id=\"get\">"
	"<NOW_POWER><" NOW_POWER "/><" NOW_CURRENT "/></NOW_POWER></CMD></SMARTPLUG>";

/* Digits kept by the number parser: below 2^53, so the result is the correctly rounded double. */
#define MAX_DIGITS	15

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

void edimax_proto_init(void)
{
	xmlInitParser();
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
