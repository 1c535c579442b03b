/* The host checks behind --vfio host=BDF, on fake host trees laid out as Linux has them:
 * functions under sys/devices/pci0000:00 with bus/pci/devices and
 * kernel/iommu_groups/N/devices linking to them, driver, iommu_group and physfn links,
 * sys/module directories, and dev/vfio/N as plain files. Every error line must name the
 * function and the fix, and show host paths, never the fake root. */
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"
#include "vfio/host_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VF "0000:00:12.0" /* the function under test: an igb VF */
#define PF "0000:00:02.0"

static char root[256];
static char err[1024];
static struct vfio_host_info info;

/* ---- building the fake tree ---- */

/* Binds bdf to driver, or unbinds it when driver is "". */
static void set_driver(const char *bdf, const char *driver)
{
	const char *link = tree_at("%s/sys/devices/pci0000:00/%s/driver", root, bdf);

	unlink(link);
	if (!driver[0])
		return;
	tree_mkdirs(tree_at("%s/sys/bus/pci/drivers/%s", root, driver));
	tree_link(tree_at("../../../bus/pci/drivers/%s", driver), link);
}

/* A function in IOMMU group `group` (none when negative), bound to driver. */
static void add_fn(const char *bdf, unsigned int device, int group, const char *driver)
{
	char dev[512];

	snprintf(dev, sizeof(dev), "%s/sys/devices/pci0000:00/%s", root, bdf);
	tree_mkdirs(dev);
	tree_put_text(tree_at("%s/vendor", dev), "0x8086\n");
	tree_put_text(tree_at("%s/device", dev), tree_at("0x%04x\n", device));
	tree_put_text(tree_at("%s/class", dev), "0x020000\n");
	tree_put_text(tree_at("%s/numa_node", dev), "-1\n");
	tree_mkdirs(tree_at("%s/sys/bus/pci/devices", root));
	tree_link(tree_at("../../../devices/pci0000:00/%s", bdf),
		  tree_at("%s/sys/bus/pci/devices/%s", root, bdf));
	if (group >= 0) {
		tree_mkdirs(tree_at("%s/sys/kernel/iommu_groups/%d/devices", root, group));
		tree_link(tree_at("../../../../devices/pci0000:00/%s", bdf),
			  tree_at("%s/sys/kernel/iommu_groups/%d/devices/%s", root, group, bdf));
		tree_link(tree_at("../../../kernel/iommu_groups/%d", group),
			  tree_at("%s/iommu_group", dev));
	}
	set_driver(bdf, driver);
}

/*
 * A host ready for passthrough of VF: an igb PF and its VF on vfio-pci, the VF's group
 * shared with members that keep it viable (a bridge on pcieport, a function on
 * pci-stub, one on vfio-pci, one with no driver), the modules loaded, /dev/vfio/7.
 */
static void host_fresh(void)
{
	tree_remove(root);
	CHECK(mkdir(root, 0755) == 0);
	add_fn(PF, 0x10c9, 6, "igb");
	add_fn(VF, 0x10ca, 7, "vfio-pci");
	tree_link("../" PF, tree_at("%s/sys/devices/pci0000:00/%s/physfn", root, VF));
	tree_put_text(tree_at("%s/sys/devices/pci0000:00/%s/numa_node", root, VF), "1\n");
	add_fn("0000:00:1c.0", 0xa110, 7, "pcieport");
	add_fn("0000:00:12.2", 0x10ca, 7, "pci-stub");
	add_fn("0000:00:12.4", 0x10ca, 7, "vfio-pci");
	add_fn("0000:00:12.6", 0x10ca, 7, "");
	tree_mkdirs(tree_at("%s/sys/module/vfio_pci", root));
	tree_mkdirs(tree_at("%s/sys/module/vfio_iommu_type1", root));
	tree_mkdirs(tree_at("%s/dev/vfio", root));
	tree_put_text(tree_at("%s/dev/vfio/vfio", root), "");
	tree_put_text(tree_at("%s/dev/vfio/7", root), "");
}

/* vfio_host_check(VF) fails with one line that contains each of the strings. */
static void fails_with(const char *first, ...)
{
	const char *s = first;
	va_list ap;

	err[0] = '\0';
	CHECK(vfio_host_check(root, VF, &info, err, sizeof(err)) == -1);
	CHECK(!strchr(err, '\n'));
	CHECK(!strstr(err, root));
	va_start(ap, first);
	for (; s; s = va_arg(ap, const char *)) {
		if (!strstr(err, s))
			fprintf(stderr, "missing \"%s\" in: %s\n", s, err);
		CHECK(strstr(err, s));
	}
	va_end(ap);
}

/* ---- the tests ---- */

static void test_bdf_forms(void)
{
	char bdf[VFIO_BDF_LEN];

	CHECK(vfio_bdf_canon("0000:00:12.0", bdf) && !strcmp(bdf, "0000:00:12.0"));
	CHECK(vfio_bdf_canon("0000:0A:1F.7", bdf) && !strcmp(bdf, "0000:0a:1f.7"));
	CHECK(vfio_bdf_canon("03:00.1", bdf) && !strcmp(bdf, "0000:03:00.1"));
	CHECK(vfio_bdf_canon("10000:e1:00.0", bdf) && !strcmp(bdf, "10000:e1:00.0")); /* VMD */
	CHECK(!vfio_bdf_canon("", bdf));
	CHECK(!vfio_bdf_canon("0000:00:12", bdf));
	CHECK(!vfio_bdf_canon("0000:00:12.0x", bdf));
	CHECK(!vfio_bdf_canon("0000:00:20.0", bdf)); /* device is 5 bits */
	CHECK(!vfio_bdf_canon("0000:00:12.8", bdf)); /* function is 3 bits */
	CHECK(!vfio_bdf_canon("000:00:12.0", bdf));
	CHECK(!vfio_bdf_canon("0000:0:12.0", bdf));
	CHECK(!vfio_bdf_canon("0000:00:12:0", bdf));
	CHECK(!vfio_bdf_canon("gg:00.0", bdf));
}

static void test_malformed(void)
{
	CHECK(vfio_host_check(root, "0000:00:12", &info, err, sizeof(err)) == -1);
	CHECK(strstr(err, "--vfio host=0000:00:12:"));
	CHECK(strstr(err, "expected DDDD:BB:DD.F"));
}

static void test_absent(void)
{
	host_fresh();
	CHECK(vfio_host_check(root, "0000:00:09.0", &info, err, sizeof(err)) == -1);
	CHECK(!strcmp(err, "no PCI function 0000:00:09.0 on this host: `conduit devices` lists "
			   "them"));
	/* the canonical name is what sysfs has, whatever the user typed */
	CHECK(vfio_host_check(root, "00:12.0", &info, err, sizeof(err)) == 0);
}

static void test_no_iommu(void)
{
	host_fresh();
	unlink(tree_at("%s/sys/devices/pci0000:00/%s/iommu_group", root, VF));
	fails_with("vfio " VF ": no IOMMU group", "no IOMMU enabled", "intel_iommu=on",
		   "amd_iommu=off", "kernel command line", NULL);
}

static void test_wrong_driver(void)
{
	const char *fix;

	host_fresh();
	set_driver(VF, "igbvf");
	fails_with("vfio " VF ": bound to igbvf, not vfio-pci", NULL);
	fix = strstr(err, ": echo");
	CHECK(fix && !strcmp(fix, ": echo vfio-pci > /sys/bus/pci/devices/" VF "/driver_override; "
				  "echo " VF " > /sys/bus/pci/devices/" VF "/driver/unbind; "
				  "echo " VF " > /sys/bus/pci/drivers_probe"));

	/* vfio-pci is not even loaded: load it first */
	rmdir(tree_at("%s/sys/module/vfio_pci", root));
	fails_with("bound to igbvf, not vfio-pci: modprobe vfio-pci; echo vfio-pci > ", NULL);

	set_driver(VF, "");
	fails_with("vfio " VF ": no driver bound, not vfio-pci: modprobe vfio-pci; echo vfio-pci > "
		   "/sys/bus/pci/devices/" VF "/driver_override; echo " VF
		   " > /sys/bus/pci/drivers_probe",
		   NULL);
	CHECK(!strstr(err, "unbind"));
}

static void test_variant_driver(void)
{
	host_fresh();
	set_driver(VF, "mlx5_vfio_pci");
	CHECK(vfio_host_check(root, VF, &info, err, sizeof(err)) == 0);
	set_driver(VF, "xe-vfio-pci");
	CHECK(vfio_host_check(root, VF, &info, err, sizeof(err)) == 0);
	set_driver(VF, "vfio");
	fails_with("bound to vfio, not vfio-pci", NULL);
}

static void test_group_not_viable(void)
{
	host_fresh();
	add_fn("0000:00:12.3", 0x10d3, 7, "e1000e");
	fails_with("vfio " VF ": IOMMU group 7 is not viable: 0000:00:12.3 in the same group is "
		   "bound to e1000e",
		   "echo 0000:00:12.3 > /sys/bus/pci/devices/0000:00:12.3/driver/unbind",
		   "bind it to vfio-pci", NULL);
	/* bridges are fine on pcieport only: a bridge driven by anything else is not */
	host_fresh();
	set_driver("0000:00:1c.0", "shpchp");
	fails_with("0000:00:1c.0 in the same group is bound to shpchp", NULL);
}

static void test_no_type1(void)
{
	host_fresh();
	rmdir(tree_at("%s/sys/module/vfio_iommu_type1", root));
	fails_with("vfio " VF ": the VFIO type1 IOMMU backend is not loaded: modprobe "
		   "vfio_iommu_type1",
		   NULL);
	/* iommufd's compatibility container serves the same ioctls */
	tree_mkdirs(tree_at("%s/sys/module/iommufd", root));
	CHECK(vfio_host_check(root, VF, &info, err, sizeof(err)) == 0);
}

static void test_group_node(void)
{
	char node[512];

	host_fresh();
	snprintf(node, sizeof(node), "%s/dev/vfio/7", root);
	unlink(node);
	fails_with("vfio " VF ": /dev/vfio/7 is missing", "devtmpfs", NULL);

	/* a node that exists but does not open: the errno is named */
	CHECK(mkdir(node, 0755) == 0);
	fails_with("vfio " VF ": cannot open /dev/vfio/7: Is a directory", NULL);
	rmdir(node);

	/* root opens anything; as another user, a node without permissions */
	tree_put_text(node, "");
	if (geteuid() != 0) {
		chmod(node, 0);
		fails_with("cannot open /dev/vfio/7: Permission denied", "chown $USER /dev/vfio/7",
			   NULL);
	}
}

static void test_open_explain(void)
{
	CHECK(vfio_group_open_explain(VF, 7, "/dev/vfio/7", EACCES, err, sizeof(err)) == -1);
	CHECK(!strcmp(err, "vfio " VF ": cannot open /dev/vfio/7: Permission denied: run conduit "
			   "as root or give your user the group (chown $USER /dev/vfio/7)"));
	vfio_group_open_explain(VF, 7, "/dev/vfio/7", EPERM, err, sizeof(err));
	CHECK(strstr(err, "run conduit as root"));
	vfio_group_open_explain(VF, 7, "/dev/vfio/7", EBUSY, err, sizeof(err));
	CHECK(!strcmp(err, "vfio " VF ": cannot open /dev/vfio/7: IOMMU group 7 is in use by "
			   "another process (another VMM?): stop it first"));
	vfio_group_open_explain(VF, 7, "/dev/vfio/7", ENODEV, err, sizeof(err));
	CHECK(!strcmp(err, "vfio " VF ": cannot open /dev/vfio/7: No such device"));
}

static void test_success(void)
{
	host_fresh();
	memset(&info, 0xa5, sizeof(info));
	CHECK(vfio_host_check(root, VF, &info, err, sizeof(err)) == 0);
	CHECK(!strcmp(info.bdf, VF));
	CHECK(info.group == 7);
	CHECK(!strcmp(info.group_path, tree_at("%s/dev/vfio/7", root)));
	CHECK(info.is_vf && !strcmp(info.pf_bdf, PF));
	CHECK(info.numa_node == 1);
	CHECK(info.vendor_id == 0x8086 && info.device_id == 0x10ca);

	/* a PF in a group of its own, on a host without NUMA */
	set_driver(PF, "vfio-pci");
	tree_put_text(tree_at("%s/dev/vfio/6", root), "");
	CHECK(vfio_host_check(root, PF, &info, err, sizeof(err)) == 0);
	CHECK(info.group == 6 && !info.is_vf && !info.pf_bdf[0]);
	CHECK(info.numa_node == -1 && info.device_id == 0x10c9);
}

static void test_backend(void)
{
	struct vfio_backend_paths p;

	host_fresh();
	CHECK(vfio_host_check(root, VF, &info, err, sizeof(err)) == 0);
	CHECK(vfio_backend_select(root, &info, &p) == VFIO_BACKEND_GROUP);
	CHECK(!strcmp(p.iommu, tree_at("%s/dev/vfio/vfio", root)));
	CHECK(!strcmp(p.device, tree_at("%s/dev/vfio/7", root)));

	/* /dev/iommu alone is not enough: the device needs its cdev */
	tree_put_text(tree_at("%s/dev/iommu", root), "");
	CHECK(vfio_backend_select(root, &info, &p) == VFIO_BACKEND_GROUP);
	tree_mkdirs(tree_at("%s/sys/devices/pci0000:00/%s/vfio-dev/vfio3", root, VF));
	CHECK(vfio_backend_select(root, &info, &p) == VFIO_BACKEND_IOMMUFD);
	CHECK(!strcmp(p.iommu, tree_at("%s/dev/iommu", root)));
	CHECK(!strcmp(p.device, tree_at("%s/dev/vfio/devices/vfio3", root)));

	/* and the cdev alone is not either */
	unlink(tree_at("%s/dev/iommu", root));
	CHECK(vfio_backend_select(root, &info, &p) == VFIO_BACKEND_GROUP);

	/* a root of "/" is the host itself (no host has this function, so no cdev) */
	snprintf(info.bdf, sizeof(info.bdf), "ffff:ff:1f.7");
	CHECK(vfio_backend_select("/", &info, &p) == VFIO_BACKEND_GROUP);
	CHECK(!strcmp(p.iommu, "/dev/vfio/vfio"));
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(root, sizeof(root), "%s/conduit-host-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_bdf_forms();
	test_malformed();
	test_absent();
	test_no_iommu();
	test_wrong_driver();
	test_variant_driver();
	test_group_not_viable();
	test_no_type1();
	test_group_node();
	test_open_explain();
	test_success();
	test_backend();
	tree_remove(root);
	return CHECK_DONE();
}
