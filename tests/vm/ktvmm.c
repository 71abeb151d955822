// SPDX-License-Identifier: GPL-2.0
/*
 * ktvmm: the tests' own minimal VMM. It drives KVM through its ioctls only and runs a tiny
 * hand-assembled 64-bit guest in real guest mode (natively, not through KVM's emulator), so
 * that tests know exactly what a VM did: per vCPU a busy loop of --loop iterations, then one
 * exit of the --exit kind, again and again until --seconds pass or SIGTERM/SIGINT arrives.
 *
 *   ktvmm [--vcpus N] [--seconds S] [--loop N] [--exit hypercall|io|hlt|none]
 *         [--host pvm|vmx|svm] [--report FILE] [--trace FILE [--trace-ms MS]] [--no-stats-fd]
 *         [--pause-ms MS] [--poke]
 *
 * Two kinds of host:
 *   pvm      the PVM fork of KVM (/sys/module/kvm_pvm exists; no vmx/svm in /proc/cpuinfo):
 *            the guest kernel runs at hardware CPL3, so every page-table level has U/S=1,
 *            addresses are in the canonical lower half, and the guest's first instructions
 *            are the SET_VIF_GPA hypercall (int $0x1b) that switches the vCPU from emulation
 *            to native execution.
 *   vmx/svm  hardware virtualization: plain long mode with supervisor page tables, no vif
 *            prologue; the hypercall is vmcall (Intel) or vmmcall (AMD).
 *            THIS PATH IS UNTESTED: it was written on a PVM-only machine. It follows the
 *            long-mode setup every minimal KVM user does (sregs from KVM_GET_SREGS with
 *            CR0/CR3/CR4/EFER and CS/SS/DS set, TR left as KVM's reset value).
 * The kind is taken from --host, else pvm when /sys/module/kvm_pvm exists, else vmx or svm
 * from the /proc/cpuinfo flags, else from the CPUID vendor (Intel: vmx, AMD/Hygon: svm).
 *
 * Exits:
 *   hypercall  an unknown hypercall number (0x7fff): PVM returns -ENOSYS and VMX/SVM KVM
 *              -KVM_ENOSYS, both inside the kernel, never to user space; the guest counts
 *              them in memory the VMM reads ("hypercalls").
 *   io         out to port 0xe9 (not 0x80, a doorbell on PVM): one KVM_EXIT_IO each.
 *   hlt        hlt; there is no in-kernel irqchip, so KVM_EXIT_HLT each.
 *   none       a busy loop forever; only host interrupts (and the stop) leave guest mode.
 *
 * --poke: the main thread, once the vCPUs run and until the stop, reads the registers of one more
 * vCPU again and again, a vCPU created but never run (as a VMM parks an unplugged one): vCPU
 * ioctls load a vCPU on a thread that runs none.
 *
 * Every vCPU holds its KVM binary stats fd (KVM_GET_STATS_FD) from before its first KVM_RUN
 * until the process exits, and the VM's stats fd is held too, so that a tracer can duplicate
 * them with pidfd_getfd(2) and read KVM's own counters. ktvmm reads them with pread only: a
 * duplicated fd shares the file offset with whoever else reads it.
 *
 * On stderr, once every vCPU has entered guest mode (PVM: once SET_VIF_GPA returned 0):
 *   ktvmm: pid P, N vCPUs (tids T1 T2 ...), host H, exit KIND
 * On exit, the report (stdout or --report FILE), space-separated key=value:
 *   host=H vcpus=N exit=KIND loop=N seconds=S wall_s=W
 *   vcpu=I tid=T runs=N exit_io=N exit_hlt=N exit_intr=N exit_other=N hypercalls=N run_s=F
 *          kvm_NAME=V ...
 *   total runs=N exit_io=N exit_hlt=N exit_intr=N exit_other=N hypercalls=N run_s=F
 *          kvm_NAME=V ...
 * seconds is --seconds (0: until a signal), wall_s the time from starting the vCPU threads to
 * their end; runs counts returns from KVM_RUN (a call still in progress is not counted yet, so
 * runs is the sum of the exit_*), exit_* those returns by exit reason (EINTR and KVM_EXIT_INTR
 * are exit_intr), run_s the CLOCK_MONOTONIC time spent inside KVM_RUN. kvm_NAME
 * is every non-histogram counter of the vCPU's stats fd at the end, raw (the unit is in the
 * name, e.g. _ns); histograms are left out. The total line sums the cumulative counters only.
 * --trace FILE appends, every --trace-ms MS (default 100) and once at the end, per vCPU:
 *   T vcpu=I runs=N exit_io=N exit_hlt=N hypercalls=N kvm_exits=N
 * with T the CLOCK_REALTIME seconds. Exit status 0 after a report, 1 after a failure (one line
 * "ktvmm: what: strerror" on stderr), 2 on a usage error.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define MAX_VCPUS	64

/*
 * Guest memory: one slot at 1 MiB, identity-mapped with 4 KiB pages (GVA = GPA, in the lower
 * half as PVM needs). The slot straddles the 2 MiB boundary, hence two page tables.
 */
#define MEM_GPA		0x100000ULL
#define MEM_SIZE	0x200000ULL
#define PAGE_SIZE	0x1000ULL
#define PML4_OFF	0x0000
#define PDPT_OFF	0x1000
#define PD_OFF		0x2000
#define PT_OFF		0x3000
#define NR_PT		2
/* Per vCPU: a 64-byte slot of guest-written data (own cache line), its code, vif and stack. */
#define DATA_OFF	0x5000
#define DATA_STRIDE	64
#define CODE_OFF	0x6000
#define CODE_STRIDE	0x100
#define VIF_OFF		0x10000
#define STACK_OFF	0x50000

/* Fields of a vCPU's data slot, written by the guest only. */
#define D_HYPERCALLS	0	/* hypercalls made */
#define D_RESULT	8	/* what SET_VIF_GPA returned (0 on VMX/SVM) */
#define D_READY		16	/* 1 once the guest runs its main loop */

_Static_assert(MEM_GPA + MEM_SIZE <= (1ULL << 30), "one PML4 and one PDPT entry suffice");
_Static_assert(PT_OFF + NR_PT * PAGE_SIZE <= DATA_OFF, "page tables overlap the data page");
_Static_assert(MAX_VCPUS * DATA_STRIDE <= PAGE_SIZE, "data slots overflow their page");
_Static_assert(CODE_OFF + MAX_VCPUS * CODE_STRIDE <= VIF_OFF, "code overlaps the vif pages");
_Static_assert(VIF_OFF + MAX_VCPUS * PAGE_SIZE <= STACK_OFF, "vif pages overlap the stacks");
_Static_assert(STACK_OFF + MAX_VCPUS * PAGE_SIZE <= MEM_SIZE, "stacks overflow the slot");

#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_US		0x4ULL

#define CR0_VALUE	0x80050033ULL	/* PG AM WP NE ET MP PE */
#define CR4_PAE		0x20ULL
#define EFER_VALUE	0x501ULL	/* LMA LME SCE */

/* PVM's hypercall ABI: int $0x1b, number in RAX, result in RAX (kernel BTF: PVM_HC_*). */
#define PVM_HC_VECTOR		0x1b
#define PVM_HC_SET_VIF_GPA	0x100c
/* Not a hypercall on any host: handled (refused) inside the kernel. */
#define HC_UNKNOWN		0x7fff
#define IO_PORT			0xe9

/* How long the vCPUs may take to reach their main loop (PVM emulates until SET_VIF_GPA). */
#define READY_TIMEOUT_S		10.0

enum host { HOST_PVM, HOST_VMX, HOST_SVM };
enum exit_kind { EXIT_HYPERCALL, EXIT_IO, EXIT_HLT, EXIT_NONE };

static const char *const host_names[] = { "pvm", "vmx", "svm" };
static const char *const exit_names[] = { "hypercall", "io", "hlt", "none" };

/* A stats fd with its descriptors, read once; values are read again on demand. */
struct kstats {
	int fd;
	struct kvm_stats_header hdr;
	size_t desc_size;	/* one descriptor with its name */
	uint8_t *descs;
	size_t data_len;	/* bytes of the data block that the descriptors cover */
	uint64_t *data;
	off_t exits_pos;	/* file position of the "exits" counter */
};

struct vcpu {
	int idx;
	int fd;
	struct kvm_run *run;
	struct kstats stats;
	pthread_t thread;
	int tid;
	/* Written by the vCPU thread only, read by others with relaxed atomics. */
	uint64_t runs;
	uint64_t exit_io;
	uint64_t exit_hlt;
	uint64_t exit_intr;
	uint64_t exit_other;
	uint64_t run_ns;
} __attribute__((aligned(64)));

static struct {
	enum host host;
	bool host_set;
	enum exit_kind exit;
	int nr_vcpus;
	double seconds;		/* 0: until a signal */
	uint64_t loop;
	const char *report_path;
	const char *trace_path;
	long trace_ms;
	bool no_stats;		/* hold no KVM stats fd, as some VMMs do: no kvm_* figures */
	long pause_ms;		/* a vCPU sleeps this long after each exit to user space */
	bool poke;		/* the main thread reads a parked vCPU's registers meanwhile */
} cfg = {
	.exit = EXIT_HYPERCALL,
	.nr_vcpus = 1,
	.loop = 1000,
};

static uint8_t *mem;
static size_t run_size;
static struct vcpu vcpus[MAX_VCPUS];
static struct kstats vm_stats;	/* held, not reported: for a tracer's VM-wide counters */
static int stop;
static FILE *report_file;
static FILE *trace_file;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t trace_cond;

static void __attribute__((noreturn, format(printf, 2, 3))) die(int err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ktvmm: %s: %s\n", what, strerror(err));
	exit(1);
}

static void __attribute__((noreturn)) usage(FILE *f, int status)
{
	fprintf(f,
		"usage: ktvmm [--vcpus N] [--seconds S] [--loop N] [--exit hypercall|io|hlt|none]\n"
		"             [--host pvm|vmx|svm] [--report FILE] [--trace FILE [--trace-ms MS]]\n"
		"             [--no-stats-fd] [--pause-ms MS] [--poke]\n"
		"  --vcpus N        vCPUs, 1..%d (default 1)\n"
		"  --seconds S      run time, fractions allowed (default: until SIGTERM/SIGINT)\n"
		"  --loop N         busy-loop iterations between two exits (default 1000)\n"
		"  --exit KIND      the exit after each busy loop (default hypercall)\n"
		"  --host KIND      force the kind of KVM host (default: detected)\n"
		"  --report FILE    final report (default stdout)\n"
		"  --trace FILE     append the counters every --trace-ms MS (default 100)\n"
		"  --no-stats-fd    hold no KVM stats fd, as some VMMs do (no kvm_* figures)\n"
		"  --pause-ms MS    sleep MS after each exit to user space: a mostly idle VM\n"
		"  --poke           the main thread reads a never-run vCPU's registers meanwhile\n",
		MAX_VCPUS);
	exit(status);
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Only the owning thread writes a counter: a relaxed load and store, no locked add. */
static void bump(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, *p + v, __ATOMIC_RELAXED);
}

static uint64_t guest_word(int idx, unsigned int field)
{
	return __atomic_load_n((uint64_t *)(mem + DATA_OFF + idx * DATA_STRIDE + field),
			       __ATOMIC_RELAXED);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- guest code: a byte emitter with one helper per instruction used ---- */

struct emitter {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint64_t gva;		/* guest address of buf[0] */
};

static void emit8(struct emitter *e, uint8_t b)
{
	if (e->len >= e->cap)
		die(ENOSPC, "guest code of %zu bytes", e->cap);
	e->buf[e->len++] = b;
}

static void emit32(struct emitter *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		emit8(e, v >> (8 * i));
}

static void emit64(struct emitter *e, uint64_t v)
{
	emit32(e, (uint32_t)v);
	emit32(e, (uint32_t)(v >> 32));
}

static uint64_t here(const struct emitter *e)
{
	return e->gva + e->len;
}

/* mov eax, imm32 (B8 id); zero-extends into RAX */
static void mov_eax_imm32(struct emitter *e, uint32_t v)
{
	emit8(e, 0xb8);
	emit32(e, v);
}

/* xor eax, eax (31 C0) */
static void xor_eax_eax(struct emitter *e)
{
	emit8(e, 0x31);
	emit8(e, 0xc0);
}

/* mov rcx, imm64 (REX.W B9 io) */
static void mov_rcx_imm64(struct emitter *e, uint64_t v)
{
	emit8(e, 0x48);
	emit8(e, 0xb9);
	emit64(e, v);
}

/* dec rcx (REX.W FF /1, ModRM 11 001 001) */
static void dec_rcx(struct emitter *e)
{
	emit8(e, 0x48);
	emit8(e, 0xff);
	emit8(e, 0xc9);
}

/* jnz rel8 (75 cb), backwards to target */
static void jnz_rel8(struct emitter *e, uint64_t target)
{
	int64_t rel = (int64_t)(target - (here(e) + 2));

	if (rel < -128 || rel > 127)
		die(ERANGE, "guest code: jnz too far");
	emit8(e, 0x75);
	emit8(e, (uint8_t)rel);
}

/* jmp rel32 (E9 cd) */
static void jmp_rel32(struct emitter *e, uint64_t target)
{
	emit8(e, 0xe9);
	emit32(e, (uint32_t)(target - (here(e) + 4)));
}

/* ModRM 00 reg 100 + SIB 00 100 101: an absolute disp32 address, no base, no index. */
static void modrm_abs(struct emitter *e, uint8_t reg, uint64_t addr)
{
	emit8(e, (uint8_t)(reg << 3 | 0x04));
	emit8(e, 0x25);
	emit32(e, (uint32_t)addr);
}

/* inc qword [addr] (REX.W FF /0) */
static void inc_abs64(struct emitter *e, uint64_t addr)
{
	emit8(e, 0x48);
	emit8(e, 0xff);
	modrm_abs(e, 0, addr);
}

/* mov [addr], rax (REX.W 89 /r, reg = rax) */
static void mov_abs64_rax(struct emitter *e, uint64_t addr)
{
	emit8(e, 0x48);
	emit8(e, 0x89);
	modrm_abs(e, 0, addr);
}

/* mov qword [addr], imm32 (REX.W C7 /0 id, sign-extended) */
static void mov_abs64_imm32(struct emitter *e, uint64_t addr, uint32_t v)
{
	emit8(e, 0x48);
	emit8(e, 0xc7);
	modrm_abs(e, 0, addr);
	emit32(e, v);
}

/* int imm8 (CD ib) */
static void int_imm8(struct emitter *e, uint8_t vec)
{
	emit8(e, 0xcd);
	emit8(e, vec);
}

/* vmcall (0F 01 C1, Intel) or vmmcall (0F 01 D9, AMD) */
static void vmcall(struct emitter *e, bool amd)
{
	emit8(e, 0x0f);
	emit8(e, 0x01);
	emit8(e, amd ? 0xd9 : 0xc1);
}

/* out imm8, al (E6 ib) */
static void out_imm8_al(struct emitter *e, uint8_t port)
{
	emit8(e, 0xe6);
	emit8(e, port);
}

/* hlt (F4) */
static void hlt(struct emitter *e)
{
	emit8(e, 0xf4);
}

static void hypercall(struct emitter *e)
{
	if (cfg.host == HOST_PVM)
		int_imm8(e, PVM_HC_VECTOR);
	else
		vmcall(e, cfg.host == HOST_SVM);
}

/*
 * The guest of one vCPU. Addresses are immediates, and RCX is reloaded every round, so no
 * register but RAX has to survive an exit (PVM's int $0x1b may clobber RCX/R11 like syscall).
 *	[pvm: mov eax, SET_VIF_GPA; int $0x1b]	(RBX = the vif page, set by the VMM)
 *	mov [result], rax; mov [ready], 1
 * top:	mov rcx, LOOP
 * 1:	dec rcx; jnz 1b				(left out when LOOP is 0)
 *	EXIT					(see below)
 *	jmp top
 */
static void gen_guest(int idx)
{
	uint64_t data = MEM_GPA + DATA_OFF + idx * DATA_STRIDE;
	struct emitter e = {
		.buf = mem + CODE_OFF + idx * CODE_STRIDE,
		.cap = CODE_STRIDE,
		.gva = MEM_GPA + CODE_OFF + idx * CODE_STRIDE,
	};
	uint64_t top, spin;

	if (cfg.host == HOST_PVM) {
		/* Until this returns the vCPU is emulated; from the next instruction on, native. */
		mov_eax_imm32(&e, PVM_HC_SET_VIF_GPA);
		int_imm8(&e, PVM_HC_VECTOR);
	} else {
		xor_eax_eax(&e);
	}
	mov_abs64_rax(&e, data + D_RESULT);
	mov_abs64_imm32(&e, data + D_READY, 1);

	top = here(&e);
	if (cfg.loop) {
		mov_rcx_imm64(&e, cfg.loop);
		spin = here(&e);
		dec_rcx(&e);
		jnz_rel8(&e, spin);
	}
	switch (cfg.exit) {
	case EXIT_HYPERCALL:
		mov_eax_imm32(&e, HC_UNKNOWN);
		hypercall(&e);
		inc_abs64(&e, data + D_HYPERCALLS);
		break;
	case EXIT_IO:
		out_imm8_al(&e, IO_PORT);
		break;
	case EXIT_HLT:
		/* PVM too: the #GP of hlt at CPL3 is turned into KVM_EXIT_HLT. */
		hlt(&e);
		break;
	case EXIT_NONE:
		break;
	}
	jmp_rel32(&e, top);
}

/* Identity map of the slot; PVM needs U/S at every level because its guest runs at CPL3. */
static void build_page_tables(void)
{
	uint64_t flags = PTE_P | PTE_RW | (cfg.host == HOST_PVM ? PTE_US : 0);
	uint64_t *pml4 = (uint64_t *)(mem + PML4_OFF);
	uint64_t *pdpt = (uint64_t *)(mem + PDPT_OFF);
	uint64_t *pd = (uint64_t *)(mem + PD_OFF);

	pml4[0] = (MEM_GPA + PDPT_OFF) | flags;
	pdpt[0] = (MEM_GPA + PD_OFF) | flags;
	for (uint64_t gpa = MEM_GPA; gpa < MEM_GPA + MEM_SIZE; gpa += PAGE_SIZE) {
		uint64_t pt_idx = (gpa >> 21) - (MEM_GPA >> 21);
		uint64_t *pt = (uint64_t *)(mem + PT_OFF + pt_idx * PAGE_SIZE);

		pd[gpa >> 21] = (MEM_GPA + PT_OFF + pt_idx * PAGE_SIZE) | flags;
		pt[(gpa >> 12) & 511] = gpa | flags;
	}
}

/* ---- KVM binary statistics (Documentation/virt/kvm/api.rst, KVM_GET_STATS_FD) ---- */

static void pread_full(int fd, void *buf, size_t len, off_t pos, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, pos + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(errno, "read %s", what);
		if (n == 0)
			die(EIO, "read %s: short", what);
		done += n;
	}
}

static void kdesc(const struct kstats *s, uint32_t i, struct kvm_stats_desc *d, const char **name)
{
	const uint8_t *p = s->descs + (size_t)i * s->desc_size;

	/* memcpy: name_size need not keep the descriptors aligned */
	memcpy(d, p, sizeof(*d));
	*name = (const char *)p + sizeof(*d);
}

static bool is_hist(uint32_t flags)
{
	uint32_t type = flags & KVM_STATS_TYPE_MASK;

	return type == KVM_STATS_TYPE_LINEAR_HIST || type == KVM_STATS_TYPE_LOG_HIST;
}

static void kstats_open(struct kstats *s, int owner_fd, const char *what)
{
	memset(s, 0, sizeof(*s));
	s->fd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0)
		die(errno, "KVM_GET_STATS_FD of %s", what);
	pread_full(s->fd, &s->hdr, sizeof(s->hdr), 0, "stats header");
	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;
	s->descs = calloc(s->hdr.num_desc, s->desc_size);
	if (!s->descs)
		die(ENOMEM, "stats descriptors");
	pread_full(s->fd, s->descs, s->hdr.num_desc * s->desc_size, s->hdr.desc_offset,
		   "stats descriptors");
	s->exits_pos = -1;
	for (uint32_t i = 0; i < s->hdr.num_desc; i++) {
		struct kvm_stats_desc d;
		const char *name;
		size_t end;

		/* The name is NUL-padded to name_size; make sure it ends. */
		s->descs[i * s->desc_size + s->desc_size - 1] = 0;
		kdesc(s, i, &d, &name);
		end = (size_t)d.offset + (size_t)d.size * sizeof(uint64_t);
		if (end > s->data_len)
			s->data_len = end;
		if (!strcmp(name, "exits") && !is_hist(d.flags))
			s->exits_pos = (off_t)s->hdr.data_offset + d.offset;
	}
	s->data = calloc(1, s->data_len + sizeof(uint64_t));
	if (!s->data)
		die(ENOMEM, "stats data");
}

static void kstats_read(struct kstats *s)
{
	pread_full(s->fd, s->data, s->data_len, s->hdr.data_offset, "stats data");
}

static uint64_t kstats_exits(const struct kstats *s)
{
	uint64_t v;

	pread_full(s->fd, &v, sizeof(v), s->exits_pos, "stats exits");
	return v;
}

/* The value of descriptor i from the last kstats_read: vectors are summed. */
static uint64_t kstats_value(const struct kstats *s, uint32_t i)
{
	struct kvm_stats_desc d;
	const char *name;
	uint64_t sum = 0;
	uint64_t v;

	kdesc(s, i, &d, &name);
	for (uint32_t k = 0; k < d.size; k++) {
		memcpy(&v, (const uint8_t *)s->data + d.offset + k * sizeof(v), sizeof(v));
		sum += v;
	}
	return sum;
}

/* ---- vCPUs ---- */

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static void setup_vcpu(int vm, struct kvm_cpuid2 *cpuid, int idx)
{
	struct vcpu *v = &vcpus[idx];
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	v->idx = idx;
	v->fd = ioctl(vm, KVM_CREATE_VCPU, (unsigned long)idx);
	if (v->fd < 0)
		die(errno, "KVM_CREATE_VCPU %d", idx);
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die(errno, "mmap kvm_run of vCPU %d", idx);
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		die(errno, "KVM_SET_CPUID2 of vCPU %d", idx);

	/* Start from KVM's reset state: TR, LDTR, GDT and IDT keep valid reset values. */
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		die(errno, "KVM_GET_SREGS of vCPU %d", idx);
	sregs.cr0 = CR0_VALUE;
	sregs.cr3 = MEM_GPA + PML4_OFF;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_VALUE;
	set_seg(&sregs.cs, 0x10, 11, true);	/* execute/read, accessed; 64-bit */
	set_seg(&sregs.ss, 0x18, 3, false);	/* read/write, accessed */
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		die(errno, "KVM_SET_SREGS of vCPU %d", idx);

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = MEM_GPA + CODE_OFF + idx * CODE_STRIDE;
	regs.rsp = MEM_GPA + STACK_OFF + (idx + 1) * PAGE_SIZE;
	/* PVM's SET_VIF_GPA argument: the vCPU's own zeroed vif page. */
	regs.rbx = MEM_GPA + VIF_OFF + idx * PAGE_SIZE;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		die(errno, "KVM_SET_REGS of vCPU %d", idx);

	gen_guest(idx);
	/* Before the first KVM_RUN, so that a tracer finds it for the vCPU's whole life. */
	if (cfg.no_stats)
		return;
	kstats_open(&v->stats, v->fd, "vCPU");
	if (v->stats.exits_pos < 0)
		die(ENOENT, "vCPU %d stats: no exits counter", idx);
}

static void __attribute__((noreturn)) guest_died(struct vcpu *v, const char *why)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		memset(&regs, 0, sizeof(regs));
	die(EIO, "vCPU %d: %s (exit reason %u) at rip 0x%llx", v->idx, why, v->run->exit_reason,
	    regs.rip);
}

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return EINTR */
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;

	__atomic_store_n(&v->tid, gettid(), __ATOMIC_RELAXED);
	/* The stop kick (SIGUSR1) is the only signal a vCPU thread takes. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		int r = ioctl(v->fd, KVM_RUN, NULL);
		int err = errno;

		bump(&v->run_ns, now_ns(CLOCK_MONOTONIC) - t0);
		bump(&v->runs, 1);
		if (r < 0) {
			if (err == EINTR || err == EAGAIN) {
				bump(&v->exit_intr, 1);
				continue;
			}
			die(err, "KVM_RUN of vCPU %d", v->idx);
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			bump(&v->exit_io, 1);
			break;
		case KVM_EXIT_HLT:
			bump(&v->exit_hlt, 1);
			break;
		case KVM_EXIT_INTR:
			bump(&v->exit_intr, 1);
			break;
		case KVM_EXIT_SHUTDOWN:
			guest_died(v, "guest shut down (triple fault)");
		case KVM_EXIT_FAIL_ENTRY:
			guest_died(v, "VM entry failed");
		case KVM_EXIT_INTERNAL_ERROR:
			guest_died(v, "KVM internal error");
		default:
			bump(&v->exit_other, 1);
			break;
		}
		if (cfg.pause_ms) {
			struct timespec nap = { cfg.pause_ms / 1000, cfg.pause_ms % 1000 * 1000000 };

			nanosleep(&nap, NULL);	/* the stop kick cuts it short */
		}
	}
	return NULL;
}

/* ---- trace and report ---- */

static void trace_sample(void)
{
	for (int i = 0; i < cfg.nr_vcpus; i++) {
		struct vcpu *v = &vcpus[i];
		uint64_t t = now_ns(CLOCK_REALTIME);

		fprintf(trace_file, "%" PRIu64 ".%06" PRIu64 " vcpu=%d runs=%" PRIu64
			" exit_io=%" PRIu64 " exit_hlt=%" PRIu64 " hypercalls=%" PRIu64,
			t / 1000000000, t % 1000000000 / 1000, i, ld(&v->runs), ld(&v->exit_io),
			ld(&v->exit_hlt), guest_word(i, D_HYPERCALLS));
		if (!cfg.no_stats)
			fprintf(trace_file, " kvm_exits=%" PRIu64, kstats_exits(&v->stats));
		fputc('\n', trace_file);
	}
	if (fflush(trace_file) == EOF)
		die(errno, "write %s", cfg.trace_path);
}

static void *trace_thread(void *arg)
{
	uint64_t next = now_ns(CLOCK_MONOTONIC);

	(void)arg;
	pthread_mutex_lock(&trace_lock);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts;

		if (now_ns(CLOCK_MONOTONIC) >= next) {
			trace_sample();
			next += cfg.trace_ms * 1000000ULL;
			continue;
		}
		/* A condition variable, not a sleep, so that the stop ends the wait at once. */
		ts.tv_sec = next / 1000000000;
		ts.tv_nsec = next % 1000000000;
		pthread_cond_timedwait(&trace_cond, &trace_lock, &ts);
	}
	pthread_mutex_unlock(&trace_lock);
	return NULL;
}

static void print_counts(FILE *f, uint64_t runs, uint64_t io, uint64_t hlt, uint64_t intr,
			 uint64_t other, uint64_t hypercalls, uint64_t run_ns)
{
	fprintf(f, " runs=%" PRIu64 " exit_io=%" PRIu64 " exit_hlt=%" PRIu64 " exit_intr=%" PRIu64
		" exit_other=%" PRIu64 " hypercalls=%" PRIu64 " run_s=%" PRIu64 ".%06" PRIu64, runs,
		io, hlt, intr, other, hypercalls, run_ns / 1000000000, run_ns % 1000000000 / 1000);
}

/* KVM names are identifiers already; keep the report parseable whatever a kernel sends. */
static void print_kvm_name(FILE *f, const char *name)
{
	fputs(" kvm_", f);
	for (const char *c = name; *c; c++)
		fputc((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') ? *c : '_', f);
}

static void report(uint64_t wall_ns)
{
	FILE *f = report_file;
	struct kstats *s0 = &vcpus[0].stats;
	uint64_t tot[7] = { 0 };

	fprintf(f, "host=%s vcpus=%d exit=%s loop=%" PRIu64 " seconds=%.6f wall_s=%" PRIu64
		".%06" PRIu64 "\n", host_names[cfg.host], cfg.nr_vcpus, exit_names[cfg.exit],
		cfg.loop, cfg.seconds, wall_ns / 1000000000, wall_ns % 1000000000 / 1000);
	for (int i = 0; i < cfg.nr_vcpus; i++) {
		struct vcpu *v = &vcpus[i];
		uint64_t c[7] = { v->runs, v->exit_io, v->exit_hlt, v->exit_intr, v->exit_other,
				  guest_word(i, D_HYPERCALLS), v->run_ns };

		for (int k = 0; k < 7; k++)
			tot[k] += c[k];
		fprintf(f, "vcpu=%d tid=%d", i, v->tid);
		print_counts(f, c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
		if (!cfg.no_stats)
			kstats_read(&v->stats);
		for (uint32_t d = 0; !cfg.no_stats && d < v->stats.hdr.num_desc; d++) {
			struct kvm_stats_desc desc;
			const char *name;

			kdesc(&v->stats, d, &desc, &name);
			if (is_hist(desc.flags))
				continue;
			print_kvm_name(f, name);
			fprintf(f, "=%" PRIu64, kstats_value(&v->stats, d));
		}
		fputc('\n', f);
	}
	fputs("total", f);
	print_counts(f, tot[0], tot[1], tot[2], tot[3], tot[4], tot[5], tot[6]);
	/* All vCPUs of a VM have the same descriptors: vCPU 0's tell the names. */
	for (uint32_t d = 0; !cfg.no_stats && d < s0->hdr.num_desc; d++) {
		struct kvm_stats_desc desc;
		const char *name;
		uint64_t sum = 0;

		kdesc(s0, d, &desc, &name);
		if ((desc.flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE)
			continue;
		for (int i = 0; i < cfg.nr_vcpus; i++)
			sum += kstats_value(&vcpus[i].stats, d);
		print_kvm_name(f, name);
		fprintf(f, "=%" PRIu64, sum);
	}
	fputc('\n', f);
	if (fflush(f) == EOF || ferror(f))
		die(errno ? errno : EIO, "write %s", cfg.report_path ? cfg.report_path : "stdout");
}

/* ---- host and setup ---- */

static bool cpuinfo_has_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char *line = NULL, *tok, *save;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	/* The first CPU's flags line is enough: KVM needs the feature on every CPU. */
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			found |= !strcmp(tok, flag);
		break;
	}
	free(line);
	fclose(f);
	return found;
}

static enum host detect_host(void)
{
	unsigned int eax, ebx, ecx, edx;
	char vendor[13];

	/* The PVM fork registers as its own vendor module, whatever the CPU has. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return HOST_PVM;
	if (cpuinfo_has_flag("vmx"))
		return HOST_VMX;
	if (cpuinfo_has_flag("svm"))
		return HOST_SVM;
	/* Flags can be hidden (nested hosts); the CPU vendor then tells vmcall from vmmcall. */
	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
		die(ENODEV, "cannot tell the KVM host kind (use --host)");
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = 0;
	if (!strcmp(vendor, "GenuineIntel"))
		return HOST_VMX;
	if (!strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine"))
		return HOST_SVM;
	die(ENODEV, "cannot tell the KVM host kind of a %s CPU (use --host)", vendor);
}

static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			die(ENOMEM, "cpuid");
		c->nent = n;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		if (errno != E2BIG)
			die(errno, "KVM_GET_SUPPORTED_CPUID");
		free(c);
	}
	die(E2BIG, "KVM_GET_SUPPORTED_CPUID");
}

static int pick(const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "loop", required_argument, NULL, 'l' },
		{ "exit", required_argument, NULL, 'e' },
		{ "host", required_argument, NULL, 'H' },
		{ "report", required_argument, NULL, 'r' },
		{ "trace", required_argument, NULL, 't' },
		{ "trace-ms", required_argument, NULL, 'm' },
		{ "no-stats-fd", no_argument, NULL, 'S' },
		{ "pause-ms", required_argument, NULL, 'p' },
		{ "poke", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool trace_ms_set = false;
	char *end;
	int c, k;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		errno = 0;
		switch (c) {
		case 'n':
			cfg.nr_vcpus = (int)strtol(optarg, &end, 10);
			if (*end || errno || cfg.nr_vcpus < 1 || cfg.nr_vcpus > MAX_VCPUS)
				usage(stderr, 2);
			break;
		case 's':
			cfg.seconds = strtod(optarg, &end);
			if (*end || errno || !(cfg.seconds > 0 && cfg.seconds < 1e9))
				usage(stderr, 2);
			break;
		case 'l':
			cfg.loop = strtoull(optarg, &end, 10);
			if (*end || errno || *optarg == '-' || !*optarg)
				usage(stderr, 2);
			break;
		case 'e':
			k = pick(optarg, exit_names, 4);
			if (k < 0)
				usage(stderr, 2);
			cfg.exit = k;
			break;
		case 'H':
			k = pick(optarg, host_names, 3);
			if (k < 0)
				usage(stderr, 2);
			cfg.host = k;
			cfg.host_set = true;
			break;
		case 'r':
			cfg.report_path = optarg;
			break;
		case 't':
			cfg.trace_path = optarg;
			break;
		case 'm':
			cfg.trace_ms = strtol(optarg, &end, 10);
			if (*end || errno || cfg.trace_ms < 1 || cfg.trace_ms > 3600000)
				usage(stderr, 2);
			trace_ms_set = true;
			break;
		case 'p':
			cfg.pause_ms = strtol(optarg, &end, 10);
			if (*end || errno || cfg.pause_ms < 0 || cfg.pause_ms > 3600000)
				usage(stderr, 2);
			break;
		case 'S':
			cfg.no_stats = true;
			break;
		case 'P':
			cfg.poke = true;
			break;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc || (trace_ms_set && !cfg.trace_path))
		usage(stderr, 2);
	if (!trace_ms_set)
		cfg.trace_ms = 100;
}

/* Wait up to secs (forever when < 0) for SIGTERM/SIGINT; true when one came. */
static bool wait_stop_signal(const sigset_t *set, double secs)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);

	for (;;) {
		struct timespec ts;
		uint64_t now;

		if (secs < 0) {
			if (sigwaitinfo(set, NULL) > 0)
				return true;
			continue;
		}
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			return false;
		ts.tv_sec = (deadline - now) / 1000000000;
		ts.tv_nsec = (deadline - now) % 1000000000;
		if (sigtimedwait(set, NULL, &ts) > 0)
			return true;
		if (errno != EAGAIN && errno != EINTR)
			die(errno, "sigtimedwait");
	}
}

/* --poke until secs pass (0: forever) or SIGTERM/SIGINT comes, looked for every 1000 reads. */
static void poke_until_stop(int parked, const sigset_t *set, double secs)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	const struct timespec now = { 0, 0 };
	struct kvm_regs regs;

	while (!secs || now_ns(CLOCK_MONOTONIC) < deadline) {
		for (int i = 0; i < 1000; i++)
			if (ioctl(parked, KVM_GET_REGS, &regs) < 0)
				die(errno, "KVM_GET_REGS of the parked vCPU");
		if (sigtimedwait(set, NULL, &now) > 0)
			return;
		if (errno != EAGAIN && errno != EINTR)
			die(errno, "sigtimedwait");
	}
}

/* True once every vCPU runs its main loop; PVM's SET_VIF_GPA must have returned 0. */
static bool all_ready(void)
{
	for (int i = 0; i < cfg.nr_vcpus; i++) {
		int64_t res;

		if (!guest_word(i, D_READY))
			return false;
		/* The guest stores the result before the flag. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		res = (int64_t)guest_word(i, D_RESULT);
		if (res)
			die(res < 0 && res > -4096 ? (int)-res : EPROTO,
			    "vCPU %d: SET_VIF_GPA returned %" PRId64, i, res);
	}
	return true;
}

int main(int argc, char **argv)
{
	struct kvm_userspace_memory_region region;
	struct kvm_cpuid2 *cpuid;
	struct sigaction sa;
	pthread_t tracer;
	sigset_t stopset, blocked;
	uint64_t t_start, deadline;
	bool stopped = false;
	int kvm, vm, n, parked = -1;

	parse_args(argc, argv);
	if (!cfg.host_set)
		cfg.host = detect_host();
	else if ((cfg.host == HOST_PVM) != (access("/sys/module/kvm_pvm", F_OK) == 0))
		/* Seen on PVM with --host vmx: no error, but every instruction is emulated. */
		fprintf(stderr, "ktvmm: warning: --host %s does not match this KVM: the guest may "
			"never run natively\n", host_names[cfg.host]);

	report_file = stdout;
	if (cfg.report_path) {
		report_file = fopen(cfg.report_path, "w");
		if (!report_file)
			die(errno, "open %s", cfg.report_path);
	}
	if (cfg.trace_path) {
		trace_file = fopen(cfg.trace_path, "a");
		if (!trace_file)
			die(errno, "open %s", cfg.trace_path);
	}

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die(errno, "open /dev/kvm");
	n = ioctl(kvm, KVM_GET_API_VERSION, NULL);
	if (n != KVM_API_VERSION)
		die(n < 0 ? errno : EPROTO, "KVM API version %d", n);
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		die(errno, "KVM_CREATE_VM");
	/* Intel without unrestricted guest needs a TSS region; harmless otherwise. */
	if (cfg.host == HOST_VMX && ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		die(errno, "KVM_SET_TSS_ADDR");
	n = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (n < (int)sizeof(struct kvm_run))
		die(n < 0 ? errno : EPROTO, "KVM_GET_VCPU_MMAP_SIZE");
	run_size = n;

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die(errno, "mmap guest memory");
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = MEM_GPA;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die(errno, "KVM_SET_USER_MEMORY_REGION");
	build_page_tables();

	cpuid = supported_cpuid(kvm);
	for (int i = 0; i < cfg.nr_vcpus; i++)
		setup_vcpu(vm, cpuid, i);
	free(cpuid);
	if (!cfg.no_stats)
		kstats_open(&vm_stats, vm, "VM");
	if (cfg.poke) {
		parked = ioctl(vm, KVM_CREATE_VCPU, (unsigned long)cfg.nr_vcpus);
		if (parked < 0)
			die(errno, "KVM_CREATE_VCPU %d (parked)", cfg.nr_vcpus);
	}

	/*
	 * SIGTERM/SIGINT are taken by this thread with sigtimedwait; SIGUSR1 kicks a vCPU out of
	 * KVM_RUN. Its handler is installed without SA_RESTART so that KVM_RUN fails with EINTR,
	 * and immediate_exit covers a kick that lands while the thread is outside KVM_RUN.
	 */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	blocked = stopset;
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die(errno, "sigaction");

	t_start = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < cfg.nr_vcpus; i++) {
		n = pthread_create(&vcpus[i].thread, NULL, vcpu_thread, &vcpus[i]);
		if (n)
			die(n, "pthread_create of vCPU %d", i);
	}

	deadline = t_start + (uint64_t)(READY_TIMEOUT_S * 1e9);
	while (!all_ready()) {
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			die(ETIMEDOUT, "vCPUs did not reach their guest loop");
		if (wait_stop_signal(&stopset, 0.001)) {
			stopped = true;
			break;
		}
	}
	if (!stopped) {
		fprintf(stderr, "ktvmm: pid %d, %d vCPUs (tids", getpid(), cfg.nr_vcpus);
		for (int i = 0; i < cfg.nr_vcpus; i++)
			fprintf(stderr, " %d", __atomic_load_n(&vcpus[i].tid, __ATOMIC_RELAXED));
		fprintf(stderr, "), host %s, exit %s\n", host_names[cfg.host],
			exit_names[cfg.exit]);
		if (trace_file) {
			pthread_condattr_t ca;

			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&trace_cond, &ca);
			n = pthread_create(&tracer, NULL, trace_thread, NULL);
			if (n)
				die(n, "pthread_create of the sampler");
		}
		if (parked >= 0)
			poke_until_stop(parked, &stopset, cfg.seconds);
		else
			wait_stop_signal(&stopset, cfg.seconds > 0 ? cfg.seconds : -1);
	}

	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < cfg.nr_vcpus; i++) {
		__atomic_store_n(&vcpus[i].run->immediate_exit, 1, __ATOMIC_RELEASE);
		n = pthread_kill(vcpus[i].thread, SIGUSR1);
		if (n)
			die(n, "kick vCPU %d", i);
	}
	for (int i = 0; i < cfg.nr_vcpus; i++)
		pthread_join(vcpus[i].thread, NULL);
	if (trace_file && !stopped) {
		pthread_mutex_lock(&trace_lock);
		pthread_cond_signal(&trace_cond);
		pthread_mutex_unlock(&trace_lock);
		pthread_join(tracer, NULL);
		/* The end state, so that a window can end at the stop. */
		trace_sample();
	}
	report(now_ns(CLOCK_MONOTONIC) - t_start);
	return 0;
}
