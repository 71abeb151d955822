// SPDX-License-Identifier: GPL-2.0
/* Edimax plug protocol: the reply parser on good, refused and hostile replies, and the query
 * asking for what the parser reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "edimax_proto.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF8\"?>"
/* An element of the plug's vocabulary around its text. */
#define NP(v) "<Device.System.Power.NowPower>" v "</Device.System.Power.NowPower>"
#define DAY(v) "<Device.System.Power.NowEnergy.Day>" v "</Device.System.Power.NowEnergy.Day>"
#define GOOD DECL "<SMARTPLUG id=\"edimax\"><CMD id=\"get\"><NOW_POWER>" \
	"<Device.System.Power.NowCurrent>0.1184</Device.System.Power.NowCurrent>" \
	"<Device.System.Power.NowPower>25.53</Device.System.Power.NowPower>" \
	"</NOW_POWER></CMD></SMARTPLUG>"

static int parse(const char *body, double *w, double *a)
{
	return edimax_parse_reply(body, strlen(body), w, a);
}

/* A reply whose NowPower text is value. */
static int parse_power(const char *value, double *w)
{
	char body[512];
	double a;

	snprintf(body, sizeof(body),
		 DECL "<SMARTPLUG id=\"edimax\"><CMD id=\"get\"><NOW_POWER>"
		 "<Device.System.Power.NowPower>%s</Device.System.Power.NowPower>"
		 "</NOW_POWER></CMD></SMARTPLUG>", value);
	return parse(body, w, &a);
}

static void test_parse_good(void **state)
{
	double w = -1, a = -1;

	(void)state;
	assert_int_equal(parse(GOOD, &w, &a), EDIMAX_OK);
	/* Exactly the double strtod gives: the parser is exact, not merely close. */
	assert_true(w == 25.53);
	assert_true(a == 0.1184);
	/* Blanks, CDATA, comments, other fields and no NowCurrent. */
	assert_int_equal(parse("<SMARTPLUG id=\"edimax\"><CMD id=\"get\"><NOW_POWER>\n"
			       "<Device.System.Power.LastToggleTime>20240101120000"
			       "</Device.System.Power.LastToggleTime>\n"
			       "<Device.System.Power.NowPower> <![CDATA[7]]>.5<!-- x --> "
			       "</Device.System.Power.NowPower>\n"
			       DAY("0.5")
			       "</NOW_POWER></CMD></SMARTPLUG>\n", &w, &a), EDIMAX_OK);
	assert_true(w == 7.5);
	assert_true(isnan(a));
	assert_int_equal(parse_power("0", &w), EDIMAX_OK);
	assert_true(w == 0);
	assert_int_equal(parse_power("0000.0500", &w), EDIMAX_OK);
	assert_true(w == 0.05);
	assert_int_equal(parse_power("100000", &w), EDIMAX_OK);
	assert_true(w == 100000);
	assert_int_equal(parse_power("1234.56789012345678", &w), EDIMAX_OK);
	assert_true(fabs(w - 1234.56789012345678) < 1e-9);
	/* Character references are plain XML and become the digits they stand for. */
	assert_int_equal(parse_power("&#50;5&#46;5", &w), EDIMAX_OK);
	assert_true(w == 25.5);
	/* amps may be NULL. */
	assert_int_equal(edimax_parse_reply(GOOD, strlen(GOOD), &w, NULL), EDIMAX_OK);
}

static void test_parse_failed(void **state)
{
	double w, a;

	(void)state;
	assert_int_equal(parse(DECL "<SMARTPLUG id=\"edimax\"><CMD id=\"get\">FAILED</CMD>"
			       "</SMARTPLUG>", &w, &a), EDIMAX_FAILED);
	assert_int_equal(parse("FAILED", &w, &a), EDIMAX_FAILED);
	assert_int_equal(parse("\r\nFAILED\n", &w, &a), EDIMAX_FAILED);
	assert_int_equal(parse("XML Header error", &w, &a), EDIMAX_FAILED);
	assert_int_equal(parse("FAILED!", &w, &a), EDIMAX_MALFORMED);
}

static void test_parse_no_metering(void **state)
{
	double w, a;

	(void)state;
	assert_int_equal(parse(DECL "<SMARTPLUG id=\"edimax\"><CMD id=\"get\"><NOW_POWER>"
			       "</NOW_POWER></CMD></SMARTPLUG>", &w, &a), EDIMAX_NO_METERING);
	assert_int_equal(parse("<SMARTPLUG id=\"edimax\"><CMD id=\"get\">"
			       "<Device.System.Power.State>ON</Device.System.Power.State>"
			       "</CMD></SMARTPLUG>", &w, &a), EDIMAX_NO_METERING);
	assert_int_equal(parse_power("", &w), EDIMAX_NO_METERING);
	assert_int_equal(parse_power("  ", &w), EDIMAX_NO_METERING);
}

static void test_parse_truncated(void **state)
{
	const char *good = GOOD;
	size_t n, len = strlen(good);
	double w, a;

	(void)state;
	/* Every cut of a good reply: a document whose root is not closed is never a reading. */
	for (n = 0; n < len; n++)
		assert_int_equal(edimax_parse_reply(good, n, &w, &a), EDIMAX_MALFORMED);
	assert_int_equal(edimax_parse_reply(good, len, &w, &a), EDIMAX_OK);
}

static void test_parse_bad_numbers(void **state)
{
	static const char *const bad[] = {
		"N/A", "abc", "25,53", "0x10", "1e3", "1E3", "inf", "nan", "+5", "25.", ".5",
		"2 5", "25.5.1", "25..5", "-1", "-0", "-12.5", "100000.01", "1e309",
		"99999999999999999999999", "123456789012345678901234567890.5", "25.5W",
		"&amp;", "\xc2\xb3",
	};
	size_t i;
	double w;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_power(bad[i], &w) != EDIMAX_MALFORMED)
			fail_msg("NowPower '%s' accepted", bad[i]);
	}
	/* A garbled NowCurrent makes the whole reply suspect. */
	assert_int_equal(parse(DECL "<SMARTPLUG id=\"edimax\"><CMD id=\"get\"><NOW_POWER>"
			       "<Device.System.Power.NowCurrent>-1</Device.System.Power.NowCurrent>"
			       "<Device.System.Power.NowPower>25</Device.System.Power.NowPower>"
			       "</NOW_POWER></CMD></SMARTPLUG>", &w, NULL), EDIMAX_MALFORMED);
}

static void test_parse_structure(void **state)
{
	double w, a;

	(void)state;
	/* Not the plug's document. */
	assert_int_equal(parse("<OTHER>" NP("5") "</OTHER>", &w, &a), EDIMAX_MALFORMED);
	/* Two readings: which one? */
	assert_int_equal(parse("<SMARTPLUG>" NP("5") NP("6") "</SMARTPLUG>", &w, &a),
			 EDIMAX_MALFORMED);
	/* Markup inside a value. */
	assert_int_equal(parse_power("2<b>5</b>", &w), EDIMAX_MALFORMED);
	/* Mismatched tags, garbage, HTML error pages. */
	assert_int_equal(parse("<SMARTPLUG><Device.System.Power.NowPower>25</NowPower></SMARTPLUG>",
			       &w, &a), EDIMAX_MALFORMED);
	assert_int_equal(parse("<html><body>401 Unauthorized</body></html>", &w, &a),
			 EDIMAX_MALFORMED);
	assert_int_equal(parse(GOOD "trailing", &w, &a), EDIMAX_MALFORMED);
	/* A NUL inside the body. */
	assert_int_equal(edimax_parse_reply("<SMARTPLUG>\0</SMARTPLUG>", 24, &w, &a),
			 EDIMAX_MALFORMED);
}

static void test_parse_entities(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?><!DOCTYPE SMARTPLUG ["
		"<!ENTITY a \"aaaaaaaaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
		"<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
		"<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
		"<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
		"<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
		"<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">"
		"]><SMARTPLUG>" NP("&h;") "</SMARTPLUG>";
	double w, a;

	(void)state;
	assert_int_equal(parse("<!DOCTYPE SMARTPLUG [<!ENTITY p \"25\">]><SMARTPLUG>" NP("&p;")
			       "</SMARTPLUG>", &w, &a), EDIMAX_MALFORMED);
	assert_int_equal(parse("<!DOCTYPE SMARTPLUG [<!ENTITY p SYSTEM \"file:///etc/hostname\">]>"
			       "<SMARTPLUG>" NP("&p;") "</SMARTPLUG>", &w, &a), EDIMAX_MALFORMED);
	assert_int_equal(parse(laughs, &w, &a), EDIMAX_MALFORMED);
	/* An undeclared entity is not well-formed. */
	assert_int_equal(parse_power("&p;", &w), EDIMAX_MALFORMED);
}

static void test_parse_empty_and_big(void **state)
{
	size_t big = EDIMAX_MAX_BODY + 1, n;
	double w, a;
	char *body;

	(void)state;
	assert_int_equal(edimax_parse_reply("", 0, &w, &a), EDIMAX_MALFORMED);
	assert_int_equal(edimax_parse_reply(NULL, 0, &w, &a), EDIMAX_MALFORMED);
	assert_int_equal(parse(" \r\n", &w, &a), EDIMAX_MALFORMED);
	/* A good reply padded past the bound is refused by size, not read. */
	body = malloc(big);
	assert_non_null(body);
	n = strlen(GOOD);
	memcpy(body, GOOD, n);
	memset(body + n, ' ', big - n);
	assert_int_equal(edimax_parse_reply(body, EDIMAX_MAX_BODY, &w, &a), EDIMAX_OK);
	assert_int_equal(edimax_parse_reply(body, big, &w, &a), EDIMAX_MALFORMED);
	free(body);
	assert_string_equal(edimax_status_str(EDIMAX_NO_METERING), "no metering");
}

/* The query names the two values the parser reads, in the envelope the plug checks. */
static void test_request(void **state)
{
	(void)state;
	assert_non_null(strstr(edimax_request, "<SMARTPLUG id=\"edimax\"><CMD id=\"get\">"));
	assert_non_null(strstr(edimax_request, "<Device.System.Power.NowPower/>"));
	assert_non_null(strstr(edimax_request, "<Device.System.Power.NowCurrent/>"));
	assert_null(strchr(edimax_request, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_failed),
		cmocka_unit_test(test_parse_no_metering),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_bad_numbers),
		cmocka_unit_test(test_parse_structure),
		cmocka_unit_test(test_parse_entities),
		cmocka_unit_test(test_parse_empty_and_big),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
