// SPDX-License-Identifier: GPL-2.0
/*
 * The live view: every interval makes a frame of lines (table.c) that the screen shows unless
 * paused; keys are read while the main loop waits for the next interval. While the view is up,
 * stderr, when it is a terminal, goes into a pipe: messages would tear the screen, so the last one
 * shows on the line above the keys and all are written out again once the terminal is restored.
 */
#include <curses.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "table.h"

#define NS_PER_S	1000000000ull
/* stderr kept while the view is up; beyond it the oldest lines go. */
#define LOG_KEEP	(64 * 1024)
#define LINE_BYTES	(8 * KT_NAME_MAX)
#define PREFIX		"kvmtrace-bpf: "
/* Lines above the VMs': title, host, the header's two. */
#define TOP_LINES	4

/* What one interval shows: each VM's line followed by its vCPUs' in index order. */
struct frame {
	struct interval_info iv;
	struct table_host host;
	struct table_row *rows;
	size_t nr_rows, cap;
	size_t nr_vms;
	bool valid;
};

static struct live {
	enum { LIVE_OFF, LIVE_ON, LIVE_FAILED } state;
	SCREEN *screen;
	bool ascii;		/* the terminal's character set is not UTF-8 */
	bool keys;		/* stdin still reads (not hung up) */
	bool plain_header;	/* plain lines: the header was written */

	enum table_col sort;
	bool reverse, vcpus, paused, help;
	size_t top;		/* the first line shown, when they do not all fit */

	struct frame frame[2];
	int shown;		/* the frame on the screen; the other one is built next */
	bool newer;		/* paused: the other frame is newer */
	const struct table_row **order;
	size_t order_cap;

	int log_fd;		/* the pipe's read end; -1: stderr is left alone */
	int saved_err;
	char log[LOG_KEEP];
	size_t log_len, log_dropped;
} lv = { .sort = TABLE_CPU, .log_fd = -1, .saved_err = -1 };

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void log_add(const char *s, size_t n)
{
	size_t cut, i;
	char *nl;

	if (lv.log_len + n > LOG_KEEP) {
		/* Whole lines go, oldest first. */
		cut = lv.log_len + n - LOG_KEEP;
		nl = memchr(lv.log + cut - 1, '\n', lv.log_len - cut + 1);
		cut = nl ? (size_t)(nl - lv.log) + 1 : lv.log_len;
		for (i = 0; i < cut; i++)
			lv.log_dropped += lv.log[i] == '\n';
		memmove(lv.log, lv.log + cut, lv.log_len - cut);
		lv.log_len -= cut;
	}
	memcpy(lv.log + lv.log_len, s, n);
	lv.log_len += n;
}

static void read_log(void)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(lv.log_fd, buf, sizeof(buf))) > 0)
		log_add(buf, n);
}

/* The last whole message, without the prefix every one has. */
static const char *last_message(size_t *len)
{
	const char *end, *start;

	if (!lv.log_len)
		return NULL;
	end = memrchr(lv.log, '\n', lv.log_len);
	if (!end)
		return NULL;
	start = end > lv.log ? memrchr(lv.log, '\n', end - lv.log) : NULL;
	start = start ? start + 1 : lv.log;
	if ((size_t)(end - start) >= strlen(PREFIX) && !memcmp(start, PREFIX, strlen(PREFIX)))
		start += strlen(PREFIX);
	*len = end - start;
	return start;
}

/* A full pipe drops messages (a non-blocking write fails) rather than stop the tracer. */
static void capture_stderr(void)
{
	int fds[2];

	if (!isatty(STDERR_FILENO) || pipe2(fds, O_CLOEXEC | O_NONBLOCK))
		return;
	lv.saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (lv.saved_err < 0 || dup2(fds[1], STDERR_FILENO) < 0) {
		if (lv.saved_err >= 0)
			close(lv.saved_err);
		lv.saved_err = -1;
		close(fds[0]);
		close(fds[1]);
		return;
	}
	close(fds[1]);
	lv.log_fd = fds[0];
}

/* At exit: the terminal as it was, then the messages the view held back. */
static void restore(void)
{
	if (lv.state != LIVE_ON)
		return;
	lv.state = LIVE_FAILED;
	endwin();
	delscreen(lv.screen);
	free(lv.frame[0].rows);
	free(lv.frame[1].rows);
	free(lv.order);
	if (lv.log_fd < 0)
		return;
	read_log();
	dup2(lv.saved_err, STDERR_FILENO);
	close(lv.saved_err);
	close(lv.log_fd);
	if (lv.log_dropped)
		fprintf(stderr, PREFIX "%zu earlier messages of the live view are not repeated\n",
			lv.log_dropped);
	fwrite(lv.log, 1, lv.log_len, stderr);
}

/* Text cut to the terminal's width at (y, x), in attr; nothing below the last line. */
static void put(int y, int x, const char *s, size_t len, attr_t attr)
{
	char buf[LINE_BYTES];

	if (y < 0 || y >= LINES || x >= COLS)
		return;
	table_text(buf, sizeof(buf), s, len, COLS - x, false, lv.ascii);
	attrset(attr);
	mvaddstr(y, x, buf);
	attrset(A_NORMAL);
}

/* The whole line y in attr, as a bar. */
static void bar(int y, attr_t attr)
{
	if (y >= 0 && y < LINES)
		mvchgat(y, 0, -1, attr, 0, NULL);
}

static void draw_help(void)
{
	char line[LINE_BYTES];
	int y = 0, i;
	size_t n;

	put(y, 0, "kvmtrace-bpf live view: keys (any key goes back)", LINE_BYTES, A_BOLD);
	y += 2;
	for (i = 0; i < TABLE_NR_COLS; i++) {
		snprintf(line, sizeof(line), "  %c  %-9s %-7s %s", table_cols[i].key,
			 table_cols[i].header, table_cols[i].unit, table_cols[i].help);
		put(y++, 0, line, sizeof(line), A_NORMAL);
	}
	y++;
	put(y++, 0, "  a column's key sorts by it; the same key again reverses the order",
	    LINE_BYTES, A_NORMAL);
	put(y++, 0, "  v          vCPU lines under each VM", LINE_BYTES, A_NORMAL);
	put(y++, 0, "  space, p   pause: the screen keeps its figures, the CSV files get every row",
	    LINE_BYTES, A_NORMAL);
	put(y++, 0, "  arrows, PgUp, PgDn, Home, End   scroll;  Ctrl-L   redraw", LINE_BYTES,
	    A_NORMAL);
	put(y++, 0, "  q          quit: the interval so far is written, as with Ctrl-C", LINE_BYTES,
	    A_NORMAL);
	y++;
	put(y++, 0, "  \"-\": not measured here.  A narrow terminal drops, in this order:",
	    LINE_BYTES, A_NORMAL);
	n = snprintf(line, sizeof(line), "   ");
	for (i = 0; i < TABLE_NR_DROPS && n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, "%s %s", i ? "," : "",
			      table_cols[table_drop_order[i]].header);
	put(y, 0, line, sizeof(line), A_NORMAL);
}

/* The header's two lines: each column's key letter underlined, the sort column's in bold. */
static void draw_header(int y, const struct table_layout *l)
{
	char line[LINE_BYTES];
	int i, w, x;
	const char *h, *k;

	table_header(line, sizeof(line), l, false);
	put(y, 0, line, sizeof(line), A_NORMAL);
	bar(y, A_REVERSE);
	table_header(line, sizeof(line), l, true);
	put(y + 1, 0, line, sizeof(line), A_NORMAL);
	bar(y + 1, A_REVERSE);
	for (i = 0; i < TABLE_NR_COLS; i++) {
		w = l->width[i];
		h = table_cols[i].header;
		if (!w || (int)strlen(h) > w || l->x[i] + w > COLS)
			continue;
		x = l->x[i] + (table_cols[i].text ? 0 : w - (int)strlen(h));
		if (i == (int)lv.sort)
			mvchgat(y, x, strlen(h), A_REVERSE | A_BOLD, 0, NULL);
		k = strchr(h, table_cols[i].key - 'a' + 'A');
		if (k)
			mvchgat(y, x + (k - h), 1, A_REVERSE | A_UNDERLINE |
				(i == (int)lv.sort ? A_BOLD : 0), 0, NULL);
	}
}

static int by_vcpu(const void *a, const void *b)
{
	const struct table_row *x = a, *y = b;

	/* Unknown indexes (-1) last, then by thread. */
	if (x->vcpu != y->vcpu)
		return x->vcpu < 0 ? 1 : y->vcpu < 0 ? -1 : x->vcpu - y->vcpu;
	return (x->v[TABLE_PID] > y->v[TABLE_PID]) - (x->v[TABLE_PID] < y->v[TABLE_PID]);
}

/* The lines in the order shown: VMs sorted, each followed by its vCPUs when they are on. */
static size_t order_lines(const struct frame *f)
{
	size_t n = 0, vms = 0, i, j;

	for (i = 0; i < f->nr_rows; i += 1 + f->rows[i].nr_vcpus)
		lv.order[vms++] = &f->rows[i];
	table_sort(lv.order, vms, lv.sort, lv.reverse);
	if (!lv.vcpus)
		return vms;
	/* Expanded from the end, so that each VM's place is read before it is written over. */
	n = f->nr_rows;
	for (i = vms; i-- > 0;) {
		const struct table_row *vm = lv.order[i];

		for (j = vm->nr_vcpus; j > 0; j--)
			lv.order[--n] = vm + j;
		lv.order[--n] = vm;
	}
	return f->nr_rows;
}

static void draw(void)
{
	const struct frame *f = &lv.frame[lv.shown];
	char line[LINE_BYTES], name[4 * KT_NAME_MAX + 1];
	int bottom = LINES - 1, y, cols, left, longest = 0, msg_cols;
	struct table_layout l;
	const char *msg;
	size_t n = 0, i, page, msg_len = 0;
	attr_t attr;

	erase();
	if (lv.help) {
		draw_help();
		refresh();
		return;
	}
	if (!f->valid) {
		put(0, 0, "kvmtrace-bpf  waiting for the first interval", LINE_BYTES, A_NORMAL);
	} else {
		left = snprintf(line, sizeof(line), "kvmtrace-bpf  %.*s  interval %.3f s  %zu VM%s",
				(int)sizeof(f->iv.timestamp), f->iv.timestamp, f->iv.interval_s,
				f->nr_vms, f->nr_vms == 1 ? "" : "s");
		put(0, 0, line, sizeof(line), A_BOLD);
		cols = snprintf(line, sizeof(line), "%ssorted by %s%s", lv.paused ? "PAUSED  " : "",
				table_cols[lv.sort].header, lv.reverse ? ", reversed" : "");
		/* Short of room, the order goes; that the screen is paused never does. */
		if (left + 2 + cols > COLS && lv.paused)
			cols = snprintf(line, sizeof(line), "PAUSED");
		if (left + 2 + cols <= COLS || lv.paused)
			put(0, COLS > cols ? COLS - cols : 0, line, sizeof(line),
			    lv.paused ? A_REVERSE : A_NORMAL);
		table_host_line(line, sizeof(line), &f->host, COLS);
		put(1, 0, line, sizeof(line), A_NORMAL);
		n = order_lines(f);
	}
	msg = last_message(&msg_len);
	if (msg)
		bottom--;
	for (i = 0; i < n; i++) {
		cols = table_text(name, sizeof(name), lv.order[i]->name, KT_NAME_MAX, KT_NAME_MAX,
				  false, lv.ascii);
		if (cols > longest)
			longest = cols;
	}
	table_fit(&l, COLS, longest);
	draw_header(2, &l);
	page = bottom > TOP_LINES ? bottom - TOP_LINES : 0;
	if (lv.top + page > n)
		lv.top = n > page ? n - page : 0;
	for (i = lv.top, y = TOP_LINES; i < n && y < bottom; i++, y++) {
		table_line(line, sizeof(line), &l, lv.order[i], lv.ascii);
		/* With vCPU lines, the VMs' stand out. */
		attr = lv.vcpus && !lv.order[i]->is_vcpu ? A_BOLD : A_NORMAL;
		put(y, 0, line, sizeof(line), attr);
	}
	if (f->valid && !f->nr_vms)
		put(TOP_LINES, 0, "no VM is running: waiting for KVM guests to start", LINE_BYTES,
		    A_NORMAL);
	if (msg)
		put(bottom, 0, msg, msg_len, A_BOLD);
	snprintf(line, sizeof(line), "q quit  p %s  v vCPUs  ? help  sort: underlined key (again: "
		 "reverse)", lv.paused ? "resume" : "pause");
	put(LINES - 1, 0, line, sizeof(line), A_NORMAL);
	if (n > page) {
		msg_cols = snprintf(line, sizeof(line), " lines %zu-%zu of %zu ", lv.top + 1,
				    lv.top + page < n ? lv.top + page : n, n);
		put(LINES - 1, COLS > msg_cols ? COLS - msg_cols : 0, line, sizeof(line), A_NORMAL);
	}
	bar(LINES - 1, A_REVERSE);
	refresh();
}

static bool start(void)
{
	const char *cup;

	if (lv.state != LIVE_OFF)
		return lv.state == LIVE_ON;
	lv.state = LIVE_FAILED;
	if (!isatty(STDIN_FILENO))
		return false;
	/* Characters only: numbers in the CSV files keep the C locale's decimal point. */
	setlocale(LC_CTYPE, "");
	lv.ascii = strcmp(nl_langinfo(CODESET), "UTF-8") != 0;
	lv.screen = newterm(NULL, stdout, stdin);
	if (!lv.screen)
		return false;
	/* A terminal that cannot place the cursor (TERM=dumb) gets plain lines. */
	cup = tigetstr("cup");
	if (!cup || cup == (char *)-1) {
		endwin();
		delscreen(lv.screen);
		return false;
	}
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	/* Escape sequences of keys come whole; a lone ESC need not hold the screen for long. */
	set_escdelay(25);
	lv.state = LIVE_ON;
	lv.keys = true;
	capture_stderr();
	atexit(restore);
	draw();
	return true;
}

/*
 * ncurses learns of a resize (SIGWINCH) only from a read that the signal interrupts, and in
 * nodelay mode none waits: the size is asked after every wake-up instead. True when it changed.
 */
static bool check_size(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col ||
	    !is_term_resized(ws.ws_row, ws.ws_col))
		return false;
	resizeterm(ws.ws_row, ws.ws_col);
	return true;
}

/* Builds a frame of the record; false when there is no memory for it. */
static bool build(struct frame *f, const struct interval_record *rec)
{
	size_t n = rec->nr_vms, i, j, k = 0;
	const struct table_row **order;
	struct table_row *rows;

	for (i = 0; i < rec->nr_vms; i++)
		n += rec->vms[i].nr_vcpus;
	if (n > f->cap) {
		rows = realloc(f->rows, n * sizeof(*rows));
		if (!rows)
			return false;
		f->rows = rows;
		f->cap = n;
	}
	if (n > lv.order_cap) {
		order = realloc(lv.order, n * sizeof(*order));
		if (!order)
			return false;
		lv.order = order;
		lv.order_cap = n;
	}
	for (i = 0; i < rec->nr_vms; i++) {
		const struct vm_record *vm = &rec->vms[i];
		struct table_row *row = &f->rows[k++];

		table_row_vm(row, vm, rec->iv.interval_s);
		row->nr_vcpus = vm->nr_vcpus;
		for (j = 0; j < vm->nr_vcpus; j++)
			table_row_vcpu(&f->rows[k++], vm, &vm->vcpu[j], rec->iv.interval_s);
		qsort(row + 1, vm->nr_vcpus, sizeof(*row), by_vcpu);
	}
	f->nr_rows = n;
	f->nr_vms = rec->nr_vms;
	f->iv = rec->iv;
	table_host(&f->host, rec);
	f->valid = true;
	return true;
}

void live_show(const struct interval_record *rec, bool tty)
{
	if (!tty || !start()) {
		table_print(stdout, rec, !lv.plain_header && rec->nr_vms);
		lv.plain_header |= rec->nr_vms > 0;
		return;
	}
	if (!build(&lv.frame[!lv.shown], rec))
		return;
	if (lv.paused) {
		lv.newer = true;
		return;
	}
	lv.shown = !lv.shown;
	check_size();
	draw();
}

/* Acts on a key; true for q. */
static bool key(int ch)
{
	size_t page = LINES > TOP_LINES + 2 ? LINES - TOP_LINES - 2 : 1;
	int col;

	if (ch == 'q' || ch == 'Q')
		return true;
	if (lv.help && ch != KEY_RESIZE) {
		lv.help = false;
		draw();
		return false;
	}
	switch (ch) {
	case ' ':
	case 'p':
		lv.paused = !lv.paused;
		if (!lv.paused && lv.newer)
			lv.shown = !lv.shown;
		lv.newer = false;
		break;
	case 'v':
		lv.vcpus = !lv.vcpus;
		break;
	case '?':
		lv.help = true;
		break;
	case KEY_UP:
		if (lv.top)
			lv.top--;
		break;
	case KEY_DOWN:
		lv.top++;
		break;
	case KEY_PPAGE:
		lv.top = lv.top > page ? lv.top - page : 0;
		break;
	case KEY_NPAGE:
		lv.top += page;
		break;
	case KEY_HOME:
		lv.top = 0;
		break;
	case KEY_END:
		lv.top = SIZE_MAX / 2;
		break;
	case 'L' & 0x1f:	/* Ctrl-L */
		clearok(curscr, TRUE);
		break;
	default:
		col = table_col_of_key(ch);
		if (col < 0)
			return false;
		lv.reverse = col == (int)lv.sort && !lv.reverse;
		lv.sort = col;
		break;
	}
	draw();
	return false;
}

enum live_wait live_wait(uint64_t deadline_ns, volatile sig_atomic_t *stop)
{
	struct pollfd fds[2] = { { .events = POLLIN }, { .events = POLLIN } };
	struct timespec ts;
	uint64_t now, left;
	int ch;

	if (!start())
		return LIVE_NONE;
	fds[1].fd = lv.log_fd;
	for (;;) {
		if (check_size())
			draw();
		while ((ch = getch()) != ERR)
			if (key(ch))
				return LIVE_QUIT;
		now = mono_now();
		if (*stop || now >= deadline_ns)
			return LIVE_WAITED;
		left = deadline_ns - now;
		ts.tv_sec = left / NS_PER_S;
		ts.tv_nsec = left % NS_PER_S;
		fds[0].fd = lv.keys ? STDIN_FILENO : -1;
		/* A signal ends the wait (EINTR): the loop looks at *stop and the keys again. */
		if (ppoll(fds, 2, &ts, NULL) <= 0)
			continue;
		/* A hung-up terminal reads nothing, ever: stop asking. */
		if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			lv.keys = false;
		if (fds[1].revents & POLLIN) {
			read_log();
			draw();
		}
	}
}
