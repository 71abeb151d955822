/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Configuration file (-C FILE): "key = value" lines whose keys are the long options without
 * their dashes (those of cli_options[] with a key, cli.h). The file becomes long options
 * ("--interval", "1") placed before the command line's, so the one option parser checks both
 * and the command line overrides the file.
 */
#ifndef KT_CONFIG_H
#define KT_CONFIG_H

#include <stddef.h>

/*
 * Reads path into *argv_out (NULL-terminated, *argc_out options and values, no program name).
 * Blank lines and '#' comments (a whole line, or after a blank) are skipped; a value may be
 * quoted with "" or '' to keep blanks or a '#'. Boolean keys (quiet, verbose) take yes/no,
 * true/false, on/off or 1/0, and "no" adds nothing. pid may be given on several lines; any
 * other key only once. Returns 0, or -1 with a one-line reason in why, naming the file and
 * line ("FILE:7: unknown key 'intervall': ..."). Refuses a file that others may write.
 */
int config_load(const char *path, int *argc_out, char ***argv_out, char *why, size_t len);

/* Frees what config_load() returned (NULL is fine). */
void config_free(int argc, char **argv);

/*
 * The argv that cli_parse() gets: argv[0], the file's options, then argv[1..argc-1], so that
 * options on the command line come last and win. The strings are borrowed, not copied: free()
 * the array alone. NULL when out of memory.
 */
char **config_prepend(int file_argc, char **file_argv, int argc, char **argv, int *argc_out);

#endif /* KT_CONFIG_H */
