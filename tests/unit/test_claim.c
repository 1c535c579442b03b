/* Managed assignment on a fake host: sysfs trees as Linux lays them out, and a fake
 * kernel behind host_write_line (linked with --wrap) that acts on driver_override,
 * driver/unbind, drivers_probe and reset writes as Linux does. Checked: VF choice
 * (auto skips VFs on host drivers, held ones and ones another conduit locked), the
 * journal's lines, and its replay after a conduit that died at every point of taking
 * its functions: the host ends as it began; functions taken for a running guest and
 * given back one by one (hot-plug), and the steward holding their locks. */
#include "sriov/bind.h"
#include "sriov/claim.h"
#include "sriov/journal.h"
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"
#include "vmm/steward.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#define PF   "0000:00:02.0"
#define VF0  "0000:00:12.0"
#define VF1  "0000:00:12.2"
#define VF2  "0000:00:12.4"
#define NIC  "0000:00:03.0" /* a PF sharing its group with AUX */
#define AUX  "0000:00:03.1"
#define NDEV 6

static char root[256];
static char err[1024];

/* ---- the fake kernel ---- */

static const struct {
	const char *bdf, *native; /* the driver drivers_probe binds without an override */
} fns[NDEV] = {
	{PF, "igb"},	{VF0, "igbvf"},	 {VF1, "igbvf"},
	{VF2, "igbvf"}, {NIC, "e1000e"}, {AUX, "e1000e"},
};
static int writes, crash_at; /* the process ends at write number crash_at (0: never) */

/* driver_override and reset are files in the tree (child processes write them too). */
static const char *attr(int i, const char *name)
{
	return tree_at("%s/sys/bus/pci/devices/%s/%s", root, fns[i].bdf, name);
}

static void read_attr(int i, const char *name, char *out, size_t len)
{
	FILE *f = fopen(attr(i, name), "r");

	out[0] = '\0';
	if (f && fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

static int fn_index(const char *path)
{
	for (int i = 0; i < NDEV; i++)
		if (strstr(path, fns[i].bdf))
			return i;
	return -1;
}

static void set_link(int i, const char *driver)
{
	const char *link = tree_at("%s/sys/bus/pci/devices/%s/driver", root, fns[i].bdf);

	unlink(link);
	if (driver[0]) {
		tree_mkdirs(tree_at("%s/sys/bus/pci/drivers/%s", root, driver));
		tree_link(tree_at("../../drivers/%s", driver), link);
	}
}

int __real_host_write_line(const char *root, const char *value, const char *fmt, ...);
int __wrap_host_write_line(const char *r, const char *value, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (crash_at && ++writes == crash_at)
		_exit(9);
	i = fn_index(strstr(path, "drivers_probe") ? value : path);
	if (i < 0)
		return __real_host_write_line(r, value, "%s", path);
	if (strstr(path, "/driver_override") || strstr(path, "/reset")) {
		tree_put_text(tree_at("%s%s", r, path),
			      value); /* a whole value, as sysfs takes it */
	} else if (strstr(path, "/driver/unbind")) {
		set_link(i, "");
	} else if (strstr(path, "drivers_probe")) {
		char o[32];

		read_attr(i, "driver_override", o, sizeof(o));
		set_link(i, o[0] ? o : fns[i].native);
	}
	return 0;
}

static const char *driver_of(const char *bdf)
{
	static char d[64];

	bind_driver(root, bdf, d, sizeof(d));
	return d;
}

/* PF with 3 VFs: VF0 on igbvf (the host uses it), VF1 and VF2 with no driver; NIC and
 * AUX on e1000e in one IOMMU group. */
static void host_fresh(void)
{
	tree_remove(root);
	tree_mkdirs(tree_at("%s/sys/bus/pci/drivers/vfio-pci", root));
	tree_pci_fn(root, PF, 0x10c9, 0x020000, 1, "igb");
	tree_put_text(tree_at("%s/sys/bus/pci/devices/%s/sriov_totalvfs", root, PF), "7\n");
	tree_put_text(tree_at("%s/sys/bus/pci/devices/%s/sriov_numvfs", root, PF), "3\n");
	tree_pci_fn(root, VF0, 0x10ca, 0x020000, 2, "igbvf");
	tree_pci_fn(root, VF1, 0x10ca, 0x020000, 3, "");
	tree_pci_fn(root, VF2, 0x10ca, 0x020000, 4, "");
	for (int i = 0; i < 3; i++) {
		const char *vf = fns[1 + i].bdf;

		tree_link(tree_at("../%s", vf),
			  tree_at("%s/sys/bus/pci/devices/%s/virtfn%d", root, PF, i));
		tree_link("../" PF, tree_at("%s/sys/bus/pci/devices/%s/physfn", root, vf));
	}
	tree_pci_fn(root, NIC, 0x10d3, 0x020000, 5, "e1000e");
	tree_pci_fn(root, AUX, 0x10d3, 0x020000, 5, "e1000e");
	tree_mkdirs(tree_at("%s/proc", root));
	tree_mkdirs(tree_at("%s/run", root));
	for (int i = 0; i < NDEV; i++) {
		tree_put_text(attr(i, "driver_override"), "\n");
		tree_put_text(attr(i, "reset"), "");
	}
	tree_put_text(attr(1, "driver_override"), "igbvf\n"); /* how the user bound VF0 */
	writes = crash_at = 0;
}

/* Every function on the driver it began with, with the override it had. */
static bool host_as_found(void)
{
	static const char *const begun[NDEV] = {"igb", "igbvf", "", "", "e1000e", "e1000e"};
	static const char *const overrides[NDEV] = {"", "igbvf", "", "", "", ""};
	bool ok = true;

	for (int i = 0; i < NDEV; i++) {
		char o[32];

		read_attr(i, "driver_override", o, sizeof(o));
		if (strcmp(driver_of(fns[i].bdf), begun[i]) || strcmp(o, overrides[i])) {
			fprintf(stderr, "%s: on '%s' (override '%s'), began on '%s'\n", fns[i].bdf,
				driver_of(fns[i].bdf), o, begun[i]);
			ok = false;
		}
	}
	return ok;
}

static const struct claim_request auto_vf = {.pf = PF, .vf = CLAIM_VF_AUTO};
static const struct claim_request vf0 = {.pf = PF, .vf = 0};
static const struct claim_request nic = {.host = NIC};

/*
 * A conduit in a child process: takes what reqs name (crash_at as set), writes the
 * functions it got (one line each; "error: ..." on failure) to out, then ends without
 * undoing anything (as if SIGKILLed) — or, with hold, first waits until the parent
 * closes the pipe. The child's pid, the pipe's write end in *hold (-1 without hold).
 */
static pid_t conduit_child(const struct claim_request *reqs, int n, const char *out, int *hold)
{
	int fds[2] = {-1, -1};
	pid_t pid;

	if (hold && pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		FILE *f = fopen(out, "w");
		struct claims c;
		char bdf[VFIO_BDF_LEN], c1;
		bool begun = !claims_begin(root, &c, err, sizeof(err));

		if (hold)
			close(fds[1]);
		if (!begun)
			fprintf(f, "error: %s\n", err);
		for (int i = 0; i < n && begun; i++) {
			if (claim_function(&c, &reqs[i], bdf, err, sizeof(err))) {
				fprintf(f, "error: %s\n", err);
				break;
			}
			fprintf(f, "%s\n", bdf);
		}
		fclose(f);
		if (hold)
			while (read(fds[0], &c1, 1) > 0)
				;
		_exit(0);
	}
	crash_at = 0; /* the crash is the child's */
	if (hold) {
		close(fds[0]);
		*hold = fds[1];
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int status = 0;

	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *first_line(const char *path)
{
	static char line[1100];
	FILE *f = fopen(path, "r");

	line[0] = '\0';
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\n")] = '\0';
	if (f)
		fclose(f);
	return line;
}

static bool has_line(const char *path, const char *want)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(path, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, want, strlen(want)) && line[strlen(want)] == '\n';
	if (f)
		fclose(f);
	return found;
}

/* Until the child wrote its line (or died: then the checks on its line fail). */
static void wait_line(pid_t pid, const char *path)
{
	for (int i = 0; i < 10000 && !first_line(path)[0]; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(1000);
	}
}

static const char *out_of(const char *name)
{
	return tree_at("%s/%s.out", root, name);
}

static void test_auto_and_locks(void)
{
	int hold_a, hold_b;
	pid_t a, b, c;

	host_fresh();
	a = conduit_child(&auto_vf, 1, out_of("a"), &hold_a);
	wait_line(a, out_of("a"));
	b = conduit_child(&auto_vf, 1, out_of("b"), &hold_b);
	wait_line(b, out_of("b"));
	c = conduit_child(&auto_vf, 1, out_of("c"), NULL);
	CHECK(child_status(c) == 0);
	CHECK(!strcmp(first_line(out_of("a")), VF1)); /* VF0 is the host's (igbvf) */
	CHECK(!strcmp(first_line(out_of("b")), VF2)); /* VF1 is a's */
	CHECK(strstr(first_line(out_of("c")), "none of its 3 VFs is free"));
	CHECK(!strcmp(driver_of(VF1), "vfio-pci") && !strcmp(driver_of(VF2), "vfio-pci"));
	CHECK(!strcmp(driver_of(VF0), "igbvf"));
	CHECK(claim_is_locked(root, VF1) && claim_is_locked(root, VF2));
	/* the living conduits' journals are theirs; c's (nothing in it) is replayed */
	CHECK(journal_recover(root) == 1);
	CHECK(!strcmp(driver_of(VF1), "vfio-pci"));
	close(hold_a);
	close(hold_b);
	CHECK(child_status(a) == 0 && child_status(b) == 0);
	CHECK(!claim_is_locked(root, VF1));
	CHECK(journal_recover(root) == 2);
	CHECK(host_as_found());
	CHECK(journal_recover(root) == 0);
}

/* The journal of a conduit that took VF 0 from igbvf and NIC with its group member. */
static void test_named_and_group(void)
{
	const struct claim_request reqs[] = {vf0, nic};
	char line[128], want[4][64];
	FILE *f;
	pid_t pid;
	int n = 0;

	host_fresh();
	pid = conduit_child(reqs, 2, out_of("named"), NULL);
	CHECK(child_status(pid) == 0);
	CHECK(!strcmp(first_line(out_of("named")), VF0));
	CHECK(!strcmp(driver_of(VF0), "vfio-pci") && !strcmp(driver_of(NIC), "vfio-pci"));
	CHECK(!strcmp(driver_of(AUX), "vfio-pci")); /* NIC's group goes whole */
	snprintf(want[0], sizeof(want[0]), "conduit %d", (int)pid);
	snprintf(want[1], sizeof(want[1]), "bind " VF0 " igbvf igbvf");
	snprintf(want[2], sizeof(want[2]), "bind " AUX " e1000e -");
	snprintf(want[3], sizeof(want[3]), "bind " NIC " e1000e -");
	f = fopen(tree_at("%s/run/conduit/journal.%d", root, (int)pid), "r");
	CHECK(f);
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		CHECK(n < 4 && !strcmp(line, want[n]));
		n++;
	}
	if (f)
		fclose(f);
	CHECK(n == 4);
	CHECK(journal_recover(root) == 1);
	CHECK(host_as_found());
	CHECK(!strcmp(first_line(attr(1, "reset")), "1")); /* VF0 reset before igbvf */
}

/* A conduit that dies at each sysfs write of taking three functions: the next one's
 * recovery puts the host back every time. */
static void test_crash_points(void)
{
	const struct claim_request reqs[] = {auto_vf, vf0, nic};
	int k, crashed = 0, status = 9;

	for (k = 1; k < 64 && status == 9; k++) {
		host_fresh();
		crash_at = k;
		status = child_status(conduit_child(reqs, 3, out_of("crash"), NULL));
		crashed += status == 9;
		CHECK(journal_recover(root) == 1);
		if (!host_as_found())
			CHECK(!"the host as found after a crash at write k");
	}
	CHECK(status == 0 && crashed >= 9); /* 3 writes per function on a driver, 2 per free VF */
}

/* Functions taken for a running guest and given back one by one: a release undoes
 * just its steps and lets its lock go, and the final replay skips released steps even
 * when the function has moved on since (another conduit's now). A claim that fails
 * leaves nothing behind. */
static void test_hot_release(void)
{
	const struct claim_request no_vf = {.pf = PF, .vf = 7};
	struct claim_span s0, s1, bad;
	char bdf[VFIO_BDF_LEN];
	struct claims c;

	host_fresh();
	CHECK(!claims_begin(root, &c, err, sizeof(err)));
	CHECK(!claim_function(&c, &nic, bdf, err, sizeof(err))); /* at start: AUX, NIC */
	CHECK(!claim_hot(&c, &auto_vf, bdf, &s1, err, sizeof(err)) && !strcmp(bdf, VF1));
	CHECK(!claim_hot(&c, &vf0, bdf, &s0, err, sizeof(err)) && !strcmp(bdf, VF0));
	CHECK(s1.from == 3 && s1.to == 4 && s0.from == 4 && s0.to == 5);
	CHECK(s0.lock >= 0 && s1.lock >= 0 && s0.lock != s1.lock);
	CHECK(claim_hot(&c, &no_vf, bdf, &bad, err, sizeof(err)) == -1);
	CHECK(bad.from == bad.to && bad.lock == -1 && strstr(err, "it has 3 VFs"));
	CHECK(!claim_release(&c, &s0));
	CHECK(!strcmp(driver_of(VF0), "igbvf") && !claim_is_locked(root, VF0));
	CHECK(!strcmp(driver_of(VF1), "vfio-pci") && claim_is_locked(root, VF1));
	CHECK(!strcmp(driver_of(NIC), "vfio-pci") && !strcmp(driver_of(AUX), "vfio-pci"));
	CHECK(has_line(tree_at("%s/run/conduit/journal.%d", root, (int)getpid()), "released 4 5"));
	set_link(1, "vfio-pci"); /* VF0 moved on */
	claims_end(&c);		 /* conduit gone without undoing */
	CHECK(journal_recover(root) == 1);
	CHECK(!strcmp(driver_of(VF0), "vfio-pci")); /* released: not touched again */
	CHECK(!strcmp(driver_of(VF1), "") && !strcmp(driver_of(NIC), "e1000e"));
	CHECK(!strcmp(driver_of(AUX), "e1000e"));
}

/* The steward keeps a lock conduit hands it after its start until told to drop it. */
static void test_steward_locks(void)
{
	const char *path = tree_at("%s/run/conduit/lock.steward", root);
	struct steward st;
	bool held = true;
	int fd, i;

	CHECK(!steward_start(&st, root, tree_at("%s/run/conduit/journal.none", root)));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); /* taken after the fork */
	CHECK(fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB));
	CHECK(!steward_hold(&st, fd));
	close(fd);
	CHECK(claim_is_locked(root, "steward")); /* in the socket or with the steward */
	steward_drop(&st, fd);
	for (i = 0; i < 1000 && held; i++)
		if ((held = claim_is_locked(root, "steward")))
			usleep(1000);
	CHECK(!held);
	CHECK(steward_finish(&st) == 0);
}

static void test_journal_lines(void)
{
	static const char *const good[] = {
		"conduit 42",
		"bind 0000:00:12.0 igbvf -",
		"bind 0000:00:12.2 - -",
		"bind 0000:00:12.4 igbvf igbvf",
		"vf eth0 1 mac=52:54:00:aa:bb:01 vlan=100,2 spoofchk=1 trust=0 rate=0:100 link=2",
		"vf eth3 0 trust=1",
		"released 3 5",
	};
	static const char *const bad[] = {
		"bind zz igb -",     "bind 0000:00:12.0 igb",
		"vf eth0 x",	     "vf eth0 1 color=blue",
		"vf eth0 1 trust=2", "frobnicate",
		"conduit -1",	     "",
		"released 5 5",	     "released 3",
	};
	struct journal_step s;
	char line[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(journal_parse(good[i], &s) == 0);
		CHECK(journal_format(&s, line, sizeof(line)) > 0);
		line[strcspn(line, "\n")] = '\0';
		CHECK(!strcmp(line, good[i]));
	}
	CHECK(journal_parse("bind 00:12.2 - -", &s) == 0 && !strcmp(s.bdf, "0000:00:12.2"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(journal_parse(bad[i], &s) == -1);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(root, sizeof(root), "%s/conduit-claim-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_journal_lines();
	test_auto_and_locks();
	test_named_and_group();
	test_crash_points();
	test_hot_release();
	test_steward_locks();
	tree_remove(root);
	return CHECK_DONE();
}
