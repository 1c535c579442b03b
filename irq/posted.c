/*
 * The rules, as Linux applies them (arch/x86/kvm, drivers/iommu):
 *  - KVM posts a device interrupt only when kvm_arch_has_irq_bypass(): APIC
 *    virtualisation on (kvm_intel enable_apicv, kvm_amd avic) and the interrupt
 *    remapping driver reporting IRQ_POSTING_CAP. Newer kernels fold both into
 *    the read-only parameter enable_device_posted_irqs of the vendor module.
 *  - Only MSI and MSI-X go through the remapping table as posted entries; INTx
 *    is resampled through the host and is never posted.
 *  - Intel (drivers/iommu/intel/irq_remapping.c): remapping is enabled only if
 *    every DMAR unit has ecap_ir_support, extended capability bit 3; posting
 *    (set_irq_posting_cap) only if every unit also has cap_pi_support, capability
 *    bit 59 (and the CPU has CMPXCHG16B, which every such machine has).
 *  - AMD (drivers/iommu/amd/init.c): AMD-Vi always remaps interrupts; posting
 *    needs guest virtual APIC mode, which needs Extended Feature Register GASup
 *    (FEATURE_GA, bit 7) and GAMSup vAPIC (FEATURE_GAM_VAPIC, bit 21) on every
 *    unit, and no amd_iommu_intr=legacy.
 *  - Kernel command line (drivers/iommu/irq_remapping.c): intremap=off or
 *    nointremap turn remapping off, intremap=nopost turns posting off, and
 *    intremap=on clears both; options are comma-separated and the last wins.
 * sysfs shows the registers: /sys/class/iommu/dmarN/intel-iommu/{cap,ecap} and
 * /sys/class/iommu/ivhdN/amd-iommu/features, all in hex.
 */
#include "irq/posted.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INTEL_ECAP_IR	  (1ULL << 3)
#define INTEL_CAP_PI	  (1ULL << 59)
#define AMD_EFR_GA	  (1ULL << 7)
#define AMD_EFR_GAM_VAPIC (1ULL << 21)

struct posted_vendor {
	const char *kvm;     /* the KVM module */
	const char *param;   /* its APIC virtualisation switch */
	const char *feature; /* what the switch is called */
	const char *unit;    /* the IOMMU units' names in /sys/class/iommu */
	const char *no_unit; /* why and fix when there is no such unit */
	bool (*unit_ok)(const char *root, const char *name, char *why, size_t len);
	const char *posted; /* the report when everything holds */
};

/* The kernel command line options that switch remapping or posting off. */
struct posted_cmdline {
	bool remap_off;	 /* intremap=off, nointremap */
	bool post_off;	 /* intremap=nopost */
	bool amd_legacy; /* amd_iommu_intr=legacy */
};

/* Fills why and is false: the "not posted" returns below. */
#define say(...) (log_to_buf(__VA_ARGS__) == 0)

static bool read_hex(const char *root, unsigned long long *v, const char *name, const char *attr)
{
	char text[64], *end;

	if (host_read_line(root, text, sizeof(text), "/sys/class/iommu/%s/%s", name, attr) < 0)
		return false;
	*v = strtoull(text, &end, 16);
	return end != text;
}

static bool intel_unit_ok(const char *root, const char *name, char *why, size_t len)
{
	unsigned long long cap, ecap;

	if (!read_hex(root, &cap, name, "intel-iommu/cap") ||
	    !read_hex(root, &ecap, name, "intel-iommu/ecap"))
		return say(why, len, "cannot read /sys/class/iommu/%s/intel-iommu/{cap,ecap}",
			   name);
	if (!(ecap & INTEL_ECAP_IR))
		return say(why, len,
			   "VT-d unit %s has no interrupt remapping (ecap bit 3 clear): a hardware "
			   "limit",
			   name);
	if (!(cap & INTEL_CAP_PI))
		return say(
			why, len,
			"VT-d unit %s cannot post interrupts (cap bit 59 clear): a hardware limit",
			name);
	return true;
}

/*
 * amd-iommu/features is the Extended Feature Register, "%llx" in old kernels; later
 * kernels print two registers, "EFR2:EFR" in some and "EFR:EFR2" in newer ones, with
 * nothing in the text saying which. EFR carries dozens of capability bits on any
 * AMD-Vi unit, EFR2 a few recent ones, so the register with more bits set is EFR.
 */
static bool amd_efr(const char *root, const char *name, unsigned long long *efr)
{
	unsigned long long a, b;
	char text[64], *end;

	if (host_read_line(root, text, sizeof(text), "/sys/class/iommu/%s/amd-iommu/features",
			   name) < 0)
		return false;
	a = strtoull(text, &end, 16);
	if (end == text)
		return false;
	*efr = a;
	if (*end != ':')
		return true;
	b = strtoull(end + 1, NULL, 16);
	if (__builtin_popcountll(b) > __builtin_popcountll(a))
		*efr = b;
	return true;
}

static bool amd_unit_ok(const char *root, const char *name, char *why, size_t len)
{
	unsigned long long efr;

	if (!amd_efr(root, name, &efr))
		return say(why, len, "cannot read /sys/class/iommu/%s/amd-iommu/features", name);
	if ((efr & (AMD_EFR_GA | AMD_EFR_GAM_VAPIC)) != (AMD_EFR_GA | AMD_EFR_GAM_VAPIC))
		return say(why, len,
			   "AMD-Vi unit %s has no guest virtual APIC (EFR GASup bit 7 or GAMSup "
			   "bit 21 clear): a hardware limit",
			   name);
	return true;
}

static const struct posted_vendor posted_intel = {
	.kvm = "kvm_intel",
	.param = "enable_apicv",
	.feature = "APICv",
	.unit = "dmar",
	.no_unit = "no VT-d unit (no dmar* in /sys/class/iommu), so no interrupt remapping; "
		   "enable VT-d in firmware and boot the host with intel_iommu=on",
	.unit_ok = intel_unit_ok,
	.posted = "VT-d posted interrupts (APICv on, DMAR interrupt remapping on)",
};

static const struct posted_vendor posted_amd = {
	.kvm = "kvm_amd",
	.param = "avic",
	.feature = "AVIC",
	.unit = "ivhd",
	.no_unit = "no AMD-Vi unit (no ivhd* in /sys/class/iommu), and AVIC posts only through "
		   "one; enable the IOMMU in firmware and remove amd_iommu=off",
	.unit_ok = amd_unit_ok,
	.posted = "AVIC with the IOMMU's guest virtual APIC (AVIC on, AMD-Vi interrupt "
		  "remapping on)",
};

/* KVM's vendor module; a loaded (or built-in) module has a /sys/module directory. */
static const struct posted_vendor *posted_vendor_find(const char *root)
{
	if (host_exists(root, "/sys/module/%s", posted_intel.kvm))
		return &posted_intel;
	if (host_exists(root, "/sys/module/%s", posted_amd.kvm))
		return &posted_amd;
	return NULL;
}

/* Bool module parameters read Y or N; kvm_amd's avic was once an int, 1 or 0. */
static bool param_on(const char *v)
{
	return v[0] == 'Y' || v[0] == 'y' || v[0] == '1';
}

/* Runs the vendor's check on every unit; the unit count, or -1 with why filled. */
static int units_check(const char *root, const struct posted_vendor *v, char *why, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	int units = 0;
	DIR *d;

	host_path(path, sizeof(path), root, "/sys/class/iommu");
	d = opendir(path);
	if (!d)
		return 0;
	while (units >= 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, v->unit, strlen(v->unit)))
			continue;
		units = v->unit_ok(root, e->d_name, why, len) ? units + 1 : -1;
	}
	closedir(d);
	return units;
}

/* One option: intremap takes comma-separated values, compared by prefix as the kernel does. */
static void cmdline_option(struct posted_cmdline *c, const char *opt)
{
	const char *v;

	if (!strcmp(opt, "nointremap"))
		c->remap_off = true;
	if (!strncmp(opt, "amd_iommu_intr=", 15))
		c->amd_legacy = !strncmp(opt + 15, "legacy", 6);
	if (strncmp(opt, "intremap=", 9))
		return;
	for (v = opt + 9; *v; v += strcspn(v, ","), v += strspn(v, ",")) {
		if (!strncmp(v, "on", 2))
			c->remap_off = c->post_off = false;
		else if (!strncmp(v, "off", 3))
			c->remap_off = c->post_off = true;
		else if (!strncmp(v, "nopost", 6))
			c->post_off = true;
	}
}

static void cmdline_read(const char *root, struct posted_cmdline *c)
{
	char text[4096], *opt, *save;

	memset(c, 0, sizeof(*c));
	if (host_read_line(root, text, sizeof(text), "/proc/cmdline") < 0)
		return;
	for (opt = strtok_r(text, " \t", &save); opt; opt = strtok_r(NULL, " \t", &save))
		cmdline_option(c, opt);
}

/* The host-side switches, once the hardware can post. */
static bool switches_ok(const char *root, const struct posted_vendor *v, char *why, size_t len)
{
	struct posted_cmdline c;
	char val[16];

	cmdline_read(root, &c);
	if (c.remap_off)
		return say(why, len,
			   "interrupt remapping is off (intremap=off or nointremap on the host "
			   "kernel command line); remove it");
	if (c.post_off)
		return say(why, len,
			   "interrupt posting is off (intremap=nopost on the host kernel command "
			   "line); remove it");
	if (v == &posted_amd && c.amd_legacy)
		return say(
			why, len,
			"the AMD IOMMU is in legacy interrupt mode (amd_iommu_intr=legacy on the "
			"host kernel command line); remove it");
	/* newer kernels: KVM's own verdict, which the user can also turn off */
	if (host_read_line(root, val, sizeof(val),
			   "/sys/module/%s/parameters/enable_device_posted_irqs", v->kvm) == 0 &&
	    !param_on(val))
		return say(
			why, len,
			"KVM device posting is off (%s enable_device_posted_irqs=%s); enable with "
			"%s.enable_device_posted_irqs=1",
			v->kvm, val, v->kvm);
	return true;
}

static bool posted_why(const char *root, enum irq_posted_kind kind, char *why, size_t len)
{
	const struct posted_vendor *v;
	char val[16];
	int units;

	if (kind == IRQ_POSTED_INTX)
		return say(why, len,
			   "the device has INTx only (no MSI or MSI-X), and INTx is never posted");
	v = posted_vendor_find(root);
	if (!v)
		return say(why, len,
			   "KVM is not loaded (neither kvm_intel nor kvm_amd in /sys/module); "
			   "modprobe kvm_intel or kvm_amd");
	if (host_read_line(root, val, sizeof(val), "/sys/module/%s/parameters/%s", v->kvm,
			   v->param) < 0)
		snprintf(val, sizeof(val), "unset");
	if (!param_on(val))
		return say(why, len, "KVM %s is off (%s %s=%s); enable with %s.%s=1", v->feature,
			   v->kvm, v->param, val, v->kvm, v->param);
	units = units_check(root, v, why, len);
	if (units < 0)
		return false;
	if (!units)
		return say(why, len, "%s", v->no_unit);
	if (!switches_ok(root, v, why, len))
		return false;
	snprintf(why, len, "%s", v->posted);
	return true;
}

bool irq_posted_check(const char *root, const char *bdf, enum irq_posted_kind kind, char *line,
		      size_t len)
{
	char why[512];
	bool posted = posted_why(root, kind, why, sizeof(why));

	snprintf(line, len, "vfio %s: interrupts %s: %s", bdf, posted ? "posted" : "not posted",
		 why);
	return posted;
}
