/* The posted-interrupt report on fake hosts: KVM module parameters under sys/module,
 * VT-d and AMD-Vi units under sys/class/iommu with register values in hex as the kernel
 * prints them, and proc/cmdline. One reason per line, with the fix when there is one. */
#include "irq/posted.h"
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BDF "0000:00:12.0"

/* Register values: a VT-d unit with interrupt remapping (ecap bit 3) and posting (cap
 * bit 59), and an AMD-Vi unit's EFR with GASup (bit 7) and GAMSup vAPIC (bit 21). */
#define VTD_CAP	      "8d2008c40660462"
#define VTD_CAP_NOPI  "d2008c40660462"
#define VTD_ECAP      "f050da"
#define VTD_ECAP_NOIR "f050d2"
#define AMD_EFR	      "206d73ef22254ade"
#define AMD_EFR_NOGAM "206d73ef22054ade"

static char root[256];
static char line[1024];

/* Writes text + newline to root/rel, making the directories. */
static void put(const char *rel, const char *text)
{
	const char *path = tree_at("%s/%s", root, rel);
	char dir[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	tree_mkdirs(dir);
	f = fopen(path, "w");
	CHECK(f);
	if (f) {
		fprintf(f, "%s\n", text);
		fclose(f);
	}
}

static void host_empty(void)
{
	tree_remove(root);
	CHECK(mkdir(root, 0755) == 0);
}

static void add_dmar(const char *name, const char *cap, const char *ecap)
{
	put(tree_at("sys/class/iommu/%s/intel-iommu/cap", name), cap);
	put(tree_at("sys/class/iommu/%s/intel-iommu/ecap", name), ecap);
}

/* An Intel host where everything holds: two VT-d units that remap and post. */
static void host_intel(void)
{
	host_empty();
	put("sys/module/kvm_intel/parameters/enable_apicv", "Y");
	add_dmar("dmar0", VTD_CAP, VTD_ECAP);
	add_dmar("dmar1", VTD_CAP, VTD_ECAP);
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on quiet");
}

/* An AMD host where everything holds: AVIC on and an AMD-Vi unit with guest vAPIC. */
static void host_amd(const char *features)
{
	host_empty();
	put("sys/module/kvm_amd/parameters/avic", "Y");
	put("sys/class/iommu/ivhd0/amd-iommu/features", features);
	put("proc/cmdline", "root=/dev/nvme0n1p2 ro");
}

static bool report(enum irq_posted_kind kind)
{
	bool posted = irq_posted_check(root, BDF, kind, line, sizeof(line));

	CHECK(!strchr(line, '\n'));
	CHECK(!strncmp(line, "vfio " BDF ": interrupts ", strlen("vfio " BDF ": interrupts ")));
	return posted;
}

/* Not posted, and the line says each of the strings. */
static void not_posted(const char *first, ...)
{
	const char *s = first;
	va_list ap;

	CHECK(!report(IRQ_POSTED_MSIX));
	CHECK(strstr(line, ": interrupts not posted: "));
	va_start(ap, first);
	for (; s; s = va_arg(ap, const char *)) {
		if (!strstr(line, s))
			fprintf(stderr, "missing \"%s\" in: %s\n", s, line);
		CHECK(strstr(line, s));
	}
	va_end(ap);
}

static void test_intel_posted(void)
{
	host_intel();
	CHECK(report(IRQ_POSTED_MSIX));
	CHECK(!strcmp(line, "vfio " BDF ": interrupts posted: VT-d posted interrupts (APICv on, "
			    "DMAR interrupt remapping on)"));
	CHECK(report(IRQ_POSTED_MSI));
	/* a newer KVM agreeing changes nothing */
	put("sys/module/kvm_intel/parameters/enable_device_posted_irqs", "Y");
	CHECK(report(IRQ_POSTED_MSIX));
}

static void test_intx(void)
{
	host_intel();
	CHECK(!report(IRQ_POSTED_INTX));
	CHECK(strstr(line, "not posted: the device has INTx only"));
}

static void test_no_kvm(void)
{
	host_empty();
	not_posted("KVM is not loaded", "modprobe kvm_intel or kvm_amd", NULL);
}

static void test_apicv_off(void)
{
	host_intel();
	put("sys/module/kvm_intel/parameters/enable_apicv", "N");
	not_posted("KVM APICv is off (kvm_intel enable_apicv=N); enable with "
		   "kvm_intel.enable_apicv=1",
		   NULL);
	unlink(tree_at("%s/sys/module/kvm_intel/parameters/enable_apicv", root));
	not_posted("KVM APICv is off (kvm_intel enable_apicv=unset)", NULL);
}

static void test_vtd_units(void)
{
	host_intel();
	add_dmar("dmar2", VTD_CAP, VTD_ECAP_NOIR);
	not_posted("VT-d unit dmar2 has no interrupt remapping (ecap bit 3 clear)", NULL);

	host_intel();
	add_dmar("dmar1", VTD_CAP_NOPI, VTD_ECAP);
	not_posted("VT-d unit dmar1 cannot post interrupts (cap bit 59 clear)", NULL);

	host_intel();
	unlink(tree_at("%s/sys/class/iommu/dmar1/intel-iommu/cap", root));
	not_posted("cannot read /sys/class/iommu/dmar1/intel-iommu/{cap,ecap}", NULL);

	host_intel();
	tree_remove(tree_at("%s/sys/class/iommu", root));
	not_posted("no VT-d unit", "intel_iommu=on", NULL);

	/* only the vendor's own units count: AVIC does not post through VT-d */
	host_amd(AMD_EFR);
	tree_remove(tree_at("%s/sys/class/iommu", root));
	add_dmar("dmar0", VTD_CAP, VTD_ECAP);
	not_posted("no AMD-Vi unit", NULL);
}

static void test_cmdline(void)
{
	host_intel();
	put("proc/cmdline", "ro intremap=off quiet");
	not_posted("interrupt remapping is off", "intremap=off", "remove it", NULL);
	put("proc/cmdline", "ro nointremap");
	not_posted("interrupt remapping is off", NULL);
	put("proc/cmdline", "ro intremap=nosid,nopost");
	not_posted("interrupt posting is off (intremap=nopost", "remove it", NULL);
	/* the last word wins, as in the kernel's parser */
	put("proc/cmdline", "ro intremap=off intremap=on");
	CHECK(report(IRQ_POSTED_MSIX));
	put("proc/cmdline", "ro intremap=nopost,on");
	CHECK(report(IRQ_POSTED_MSIX));
	put("proc/cmdline", "ro amd_iommu_intr=legacy"); /* not an Intel option */
	CHECK(report(IRQ_POSTED_MSIX));
	unlink(tree_at("%s/proc/cmdline", root));
	CHECK(report(IRQ_POSTED_MSIX));
}

static void test_kvm_verdict(void)
{
	host_intel();
	put("sys/module/kvm_intel/parameters/enable_device_posted_irqs", "N");
	not_posted("KVM device posting is off (kvm_intel enable_device_posted_irqs=N); enable "
		   "with kvm_intel.enable_device_posted_irqs=1",
		   NULL);
}

static void test_amd(void)
{
	host_amd(AMD_EFR);
	CHECK(report(IRQ_POSTED_MSI));
	CHECK(!strcmp(line, "vfio " BDF ": interrupts posted: AVIC with the IOMMU's guest "
			    "virtual APIC (AVIC on, AMD-Vi interrupt remapping on)"));

	/* the example from the design: AVIC off, kvm_amd's default on most kernels */
	put("sys/module/kvm_amd/parameters/avic", "N");
	CHECK(!report(IRQ_POSTED_MSIX));
	CHECK(!strcmp(line, "vfio " BDF ": interrupts not posted: KVM AVIC is off (kvm_amd "
			    "avic=N); enable with kvm_amd.avic=1"));
	put("sys/module/kvm_amd/parameters/avic", "0"); /* when avic was an int */
	not_posted("(kvm_amd avic=0)", NULL);
	put("sys/module/kvm_amd/parameters/avic", "1");
	CHECK(report(IRQ_POSTED_MSIX));

	host_amd(AMD_EFR_NOGAM);
	not_posted("AMD-Vi unit ivhd0 has no guest virtual APIC", NULL);

	host_amd(AMD_EFR);
	put("proc/cmdline", "ro amd_iommu_intr=legacy");
	not_posted("legacy interrupt mode (amd_iommu_intr=legacy", "remove it", NULL);
	put("proc/cmdline", "ro amd_iommu_intr=legacy amd_iommu_intr=vapic");
	CHECK(report(IRQ_POSTED_MSIX));
	put("proc/cmdline", "ro intremap=off");
	not_posted("interrupt remapping is off", NULL);
}

/* Two-register kernels print EFR2:EFR or EFR:EFR2: EFR is the one with the bits. */
static void test_amd_features_forms(void)
{
	host_amd("0:" AMD_EFR);
	CHECK(report(IRQ_POSTED_MSIX));
	host_amd(AMD_EFR ":0");
	CHECK(report(IRQ_POSTED_MSIX));
	host_amd(AMD_EFR ":20");
	CHECK(report(IRQ_POSTED_MSIX));
	/* GA and GAM bit positions set in EFR2 do not stand in for EFR's */
	host_amd(AMD_EFR_NOGAM ":200080");
	not_posted("no guest virtual APIC", NULL);
	host_amd("200080:" AMD_EFR_NOGAM);
	not_posted("no guest virtual APIC", NULL);
	host_amd("garbage");
	not_posted("cannot read /sys/class/iommu/ivhd0/amd-iommu/features", NULL);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(root, sizeof(root), "%s/conduit-posted-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_intel_posted();
	test_intx();
	test_no_kvm();
	test_apicv_off();
	test_vtd_units();
	test_cmdline();
	test_kvm_verdict();
	test_amd();
	test_amd_features_forms();
	tree_remove(root);
	return CHECK_DONE();
}
