/* Host PCI inventory: libpci scans and names; sysfs adds SR-IOV links and IOMMU groups. */
#include "vfio/inventory.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <pci/pci.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What libpci's sysfs method reads for each function: the vendor, device and class
 * attributes, numa_node, and the iommu_group and driver links. */
#define INVENTORY_FILL                                                                             \
	(PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_NUMA_NODE | PCI_FILL_IOMMU_GROUP |             \
	 PCI_FILL_DRIVER)

/* Names come from pci.ids only. libpci 3.9 would also ask the udev hwdb, but without
 * a compiled hwdb.bin it leaks a udev context on every lookup. */
#define INVENTORY_LOOKUP PCI_LOOKUP_NO_HWDB

struct inventory_scan {
	const struct inventory_source *src;
	const struct inventory_list *only; /* NULL: every function on the bus */
	struct pci_access *pacc;
};

/* libpci's error hook must not return: a scan that cannot go on (a device removed
 * while being read, an unreadable attribute) ends the command with one line. */
static void __attribute__((noreturn, format(printf, 1, 2))) inventory_pci_error(char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("libpci: %s", msg);
	exit(1); /* bad host state (README, exit status 1) */
}

static void __attribute__((format(printf, 1, 2))) inventory_pci_warning(char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("libpci: %s", msg);
}

/* Format a path into a PATH_MAX buffer; false (errno ENAMETOOLONG) when it does not fit. */
static bool __attribute__((format(printf, 2, 3))) inventory_path(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n >= 0 && n < PATH_MAX)
		return true;
	errno = ENAMETOOLONG;
	return false;
}

static int inventory_list_add(struct inventory_list *l, const char *name)
{
	char **names = realloc(l->names, (l->count + 1) * sizeof(*names));

	if (!names)
		return -1;
	l->names = names;
	names[l->count] = strdup(name);
	if (!names[l->count])
		return -1;
	l->count++;
	return 0;
}

static void inventory_list_free(struct inventory_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
}

/* A decimal sysfs attribute such as sriov_totalvfs; -1 when absent or not a number. */
static int inventory_read_int(const char *dir, const char *attr, int *out)
{
	char text[32], *end;
	long v;

	if (host_read_line("", text, sizeof(text), "%s/%s", dir, attr))
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* A device a sysfs link names (physfn -> ../0000:00:02.0). *name is NULL when there is
 * no such link; -1 means out of memory. */
static int inventory_link_name(const char *dir, const char *link, char **name)
{
	char target[PATH_MAX];

	*name = NULL;
	if (host_link_name("", target, sizeof(target), "%s/%s", dir, link))
		return 0;
	*name = strdup(target);
	return *name ? 0 : -1;
}

static int inventory_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* VFIO assigns an IOMMU group whole: every other device in it must be unbound from its
 * host driver too, so list them (sorted) from /sys/kernel/iommu_groups/N/devices. */
static int inventory_read_group(const char *sysfs, struct inventory_dev *d)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	if (d->iommu_group < 0)
		return 0;
	if (!inventory_path(path, "%s/kernel/iommu_groups/%d/devices", sysfs, d->iommu_group))
		return -1;
	dir = opendir(path);
	if (!dir)
		return -1;
	while (!ret && (e = readdir(dir)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, d->bdf))
			ret = inventory_list_add(&d->group_members, e->d_name);
	closedir(dir);
	if (d->group_members.count)
		qsort(d->group_members.names, d->group_members.count, sizeof(char *),
		      inventory_cmp_name);
	return ret;
}

/* SR-IOV: a PF has sriov_totalvfs, sriov_numvfs and a virtfnN link for each enabled
 * VF (N from 0); a VF has a physfn link to its PF. */
static int inventory_read_sriov(const char *devdir, struct inventory_dev *d)
{
	char link[32];
	char *vf;
	int ret;

	if (inventory_link_name(devdir, "physfn", &d->physfn))
		return -1;
	if (inventory_read_int(devdir, "sriov_totalvfs", &d->total_vfs))
		return 0;
	d->sriov = true;
	if (inventory_read_int(devdir, "sriov_numvfs", &d->num_vfs))
		d->num_vfs = 0;
	for (int i = 0; i < d->num_vfs; i++) {
		snprintf(link, sizeof(link), "virtfn%d", i);
		if (inventory_link_name(devdir, link, &vf))
			return -1;
		if (!vf)
			break;
		ret = inventory_list_add(&d->vfs, vf);
		free(vf);
		if (ret)
			return -1;
	}
	return 0;
}

/* IOMMU group names are decimal numbers in Linux. */
static int inventory_group_number(const char *name)
{
	char *end;
	long v;

	if (!name)
		return -1;
	errno = 0;
	v = strtol(name, &end, 10);
	if (errno || end == name || *end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

/* Names as lspci prints them: "Ethernet controller" and "Intel Corporation 82576
 * Gigabit Network Connection"; libpci falls back to numbers for unknown IDs. */
static int inventory_lookup_names(struct inventory_scan *s, struct inventory_dev *d)
{
	char buf[512];

	d->class_name = strdup(pci_lookup_name(s->pacc, buf, sizeof(buf),
					       INVENTORY_LOOKUP | PCI_LOOKUP_CLASS, d->class_id));
	d->name = strdup(pci_lookup_name(s->pacc, buf, sizeof(buf),
					 INVENTORY_LOOKUP | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
					 d->vendor_id, d->device_id));
	return d->class_name && d->name ? 0 : -1;
}

static int inventory_fill_dev(struct inventory_scan *s, struct pci_dev *p, struct inventory_dev *d)
{
	const char *driver;
	char devdir[PATH_MAX];

	pci_fill_info(p, INVENTORY_FILL);
	d->domain = (unsigned int)p->domain;
	d->bus = p->bus;
	d->dev = p->dev;
	d->func = p->func;
	snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%u", d->domain, d->bus, d->dev, d->func);
	d->vendor_id = p->vendor_id;
	d->device_id = p->device_id;
	d->class_id = p->device_class;
	d->numa_node = p->numa_node;
	if (d->numa_node >= 0 &&
	    host_read_line(s->src->sysfs, d->node_cpus, sizeof(d->node_cpus),
			   "/devices/system/node/node%d/cpulist", d->numa_node))
		d->node_cpus[0] = '\0';
	d->iommu_group = inventory_group_number(pci_get_string_property(p, PCI_FILL_IOMMU_GROUP));
	driver = pci_get_string_property(p, PCI_FILL_DRIVER);
	if (driver && !(d->driver = strdup(driver)))
		goto fail;
	if (inventory_lookup_names(s, d) ||
	    !inventory_path(devdir, "%s/bus/pci/devices/%s", s->src->sysfs, d->bdf) ||
	    inventory_read_sriov(devdir, d))
		goto fail;
	if (inventory_read_group(s->src->sysfs, d)) {
		log_error("cannot list IOMMU group %d of %s: %s", d->iommu_group, d->bdf,
			  strerror(errno));
		return -1;
	}
	return 0;
fail:
	log_error("cannot list %s: %s", d->bdf, strerror(errno));
	return -1;
}

/* lspci's order: by domain, then bus, device and function (the routing ID). */
static int inventory_cmp_dev(const void *a, const void *b)
{
	const struct inventory_dev *x = a, *y = b;
	uint64_t kx = (uint64_t)x->domain << 16 | x->bus << 8 | x->dev << 3 | x->func;
	uint64_t ky = (uint64_t)y->domain << 16 | y->bus << 8 | y->dev << 3 | y->func;

	return (kx > ky) - (kx < ky);
}

/* The functions named in s->only, where a bus scan would have put them (pci_cleanup
 * frees them with the rest). A name that is not a PCI address (a non-PCI member of an
 * IOMMU group) is not libpci's to read and is left out. */
static void inventory_get_named(struct inventory_scan *s)
{
	unsigned int domain, bus, dev, func;
	struct pci_dev *p;
	char tail;

	for (size_t i = 0; i < s->only->count; i++) {
		if (sscanf(s->only->names[i], "%x:%x:%x.%x%c", &domain, &bus, &dev, &func, &tail) !=
		    4)
			continue;
		p = pci_get_dev(s->pacc, (int)domain, (int)bus, (int)dev, (int)func);
		p->next = s->pacc->devices;
		s->pacc->devices = p;
	}
}

static int inventory_collect(struct inventory_scan *s, struct inventory *inv)
{
	struct pci_dev *p;
	size_t n = 0;

	if (s->only)
		inventory_get_named(s);
	else
		pci_scan_bus(s->pacc);
	for (p = s->pacc->devices; p; p = p->next)
		n++;
	if (!n)
		return 0;
	inv->devs = calloc(n, sizeof(*inv->devs));
	if (!inv->devs) {
		log_error("out of memory listing %zu PCI devices", n);
		return -1;
	}
	for (p = s->pacc->devices; p; p = p->next) {
		struct inventory_dev *d = &inv->devs[inv->count++];

		d->iommu_group = d->numa_node = -1;
		if (inventory_fill_dev(s, p, d))
			return -1;
	}
	qsort(inv->devs, inv->count, sizeof(*inv->devs), inventory_cmp_dev);
	return 0;
}

/* libpci's sysfs method, pointed at src->sysfs/bus/pci. */
static struct pci_access *inventory_pci_open(const struct inventory_source *src, char *bus)
{
	struct pci_access *pacc = pci_alloc();
	char *ids;

	if (!pacc)
		return NULL;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	pacc->error = inventory_pci_error;
	pacc->warning = inventory_pci_warning;
	pci_set_param(pacc, "sysfs.path", bus);
	if (src->pci_ids) {
		ids = strdup(src->pci_ids);
		if (!ids) {
			pci_cleanup(pacc);
			return NULL;
		}
		pci_set_name_list_path(pacc, ids, 1);
	}
	pci_init(pacc);
	return pacc;
}

static int inventory_run(const struct inventory_source *src, const struct inventory_list *only,
			 struct inventory *inv)
{
	struct inventory_scan s = {.src = src, .only = only};
	char bus[PATH_MAX], devices[PATH_MAX];
	int ret;

	*inv = (struct inventory){0};
	if (!inventory_path(bus, "%s/bus/pci", src->sysfs) ||
	    !inventory_path(devices, "%s/devices", bus) || access(devices, R_OK | X_OK)) {
		log_error("cannot read %s/bus/pci/devices: %s (is sysfs mounted?)", src->sysfs,
			  strerror(errno));
		return -1;
	}
	s.pacc = inventory_pci_open(src, bus);
	if (!s.pacc) {
		log_error("out of memory starting libpci");
		return -1;
	}
	ret = inventory_collect(&s, inv);
	pci_cleanup(s.pacc);
	if (ret)
		inventory_free(inv);
	return ret;
}

int inventory_scan(const struct inventory_source *src, struct inventory *inv)
{
	return inventory_run(src, NULL, inv);
}

int inventory_read(const struct inventory_source *src, const struct inventory_list *bdfs,
		   struct inventory *inv)
{
	return inventory_run(src, bdfs, inv);
}

void inventory_free(struct inventory *inv)
{
	for (size_t i = 0; i < inv->count; i++) {
		struct inventory_dev *d = &inv->devs[i];

		free(d->class_name);
		free(d->name);
		free(d->driver);
		inventory_list_free(&d->group_members);
		inventory_list_free(&d->vfs);
		free(d->physfn);
	}
	free(inv->devs);
	*inv = (struct inventory){0};
}

static void inventory_print_list(const struct inventory_list *l, FILE *out)
{
	for (size_t i = 0; i < l->count; i++)
		fprintf(out, "%s%s", i ? "," : "", l->names[i]);
}

static void inventory_print_group(const struct inventory_dev *d, FILE *out)
{
	if (d->iommu_group < 0) {
		fputs("  iommu_group=none", out);
		return;
	}
	fprintf(out, "  iommu_group=%d", d->iommu_group);
	if (!d->group_members.count) {
		fputs(" (alone)", out);
		return;
	}
	fputs(" (with ", out);
	inventory_print_list(&d->group_members, out);
	fputc(')', out);
}

static void inventory_print_line(const struct inventory_dev *d, FILE *out)
{
	fprintf(out, "%s  %s: %s [%04x:%04x]  driver=%s", d->bdf, d->class_name, d->name,
		d->vendor_id, d->device_id, d->driver ? d->driver : "none");
	inventory_print_group(d, out);
	fprintf(out, "  numa=%d", d->numa_node);
	if (d->node_cpus[0])
		fprintf(out, " node-cpus=%s", d->node_cpus);
	if (d->sriov) {
		fprintf(out, "  sriov=%d/%d", d->num_vfs, d->total_vfs);
		if (d->vfs.count) {
			fputs(" vfs=", out);
			inventory_print_list(&d->vfs, out);
		}
	}
	if (d->physfn)
		fprintf(out, "  vf-of=%s", d->physfn);
	if (d->holder.pid)
		fprintf(out, "  in-use-by=%d(%s)", (int)d->holder.pid, d->holder.comm);
	if (d->managed)
		fputs("  managed-by-conduit", out);
	fputc('\n', out);
}

void inventory_print_plain(const struct inventory *inv, FILE *out)
{
	bool grouped = false;

	if (!inv->count) {
		fputs("no PCI devices found\n", out);
		return;
	}
	for (size_t i = 0; i < inv->count; i++) {
		inventory_print_line(&inv->devs[i], out);
		grouped |= inv->devs[i].iommu_group >= 0;
	}
	if (!grouped)
		fputs("no IOMMU groups: boot the host with intel_iommu=on (AMD-Vi is on unless "
		      "amd_iommu=off) to assign devices\n",
		      out);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when s does not start one. Stops at NUL. */
static size_t inventory_utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* below: overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* above: UTF-16 surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* below: overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above: beyond U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string (RFC 8259): the quote, the backslash and control characters are
 * escaped, UTF-8 passes through, and bytes that are not UTF-8 (sysfs names are any
 * bytes) become U+FFFD so the output always parses. */
static void inventory_json_string(const char *str, FILE *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', out);
	while (*s) {
		n = inventory_utf8_len(s);
		if (!n)
			fputs("\\ufffd", out);
		else if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
	fputc('"', out);
}

static void inventory_json_list(const struct inventory_list *l, FILE *out)
{
	fputc('[', out);
	for (size_t i = 0; i < l->count; i++) {
		fputs(i ? ", " : "", out);
		inventory_json_string(l->names[i], out);
	}
	fputc(']', out);
}

static void inventory_json_field(const char *key, const char *value, FILE *out)
{
	fprintf(out, ", \"%s\": ", key);
	if (value)
		inventory_json_string(value, out);
	else
		fputs("null", out);
}

static void inventory_json_dev(const struct inventory_dev *d, FILE *out)
{
	fprintf(out,
		"{\"bdf\": \"%s\", \"vendor_id\": \"%04x\", \"device_id\": \"%04x\", "
		"\"class\": \"%04x\"",
		d->bdf, d->vendor_id, d->device_id, d->class_id);
	inventory_json_field("class_name", d->class_name, out);
	inventory_json_field("name", d->name, out);
	inventory_json_field("driver", d->driver, out);
	if (d->iommu_group >= 0)
		fprintf(out, ", \"iommu_group\": %d", d->iommu_group);
	else
		fputs(", \"iommu_group\": null", out);
	fputs(", \"group_members\": ", out);
	inventory_json_list(&d->group_members, out);
	fprintf(out, ", \"numa_node\": %d", d->numa_node);
	inventory_json_field("node_cpus", d->node_cpus[0] ? d->node_cpus : NULL, out);
	if (d->sriov) {
		fprintf(out,
			", \"sriov\": {\"num_vfs\": %d, \"total_vfs\": %d, \"vfs\": ", d->num_vfs,
			d->total_vfs);
		inventory_json_list(&d->vfs, out);
		fputc('}', out);
	}
	if (d->physfn)
		inventory_json_field("physfn", d->physfn, out);
	if (d->holder.pid) {
		fprintf(out, ", \"in_use_by\": {\"pid\": %d", (int)d->holder.pid);
		inventory_json_field("comm", d->holder.comm, out);
		fputc('}', out);
	}
	fprintf(out, ", \"managed_by_conduit\": %s", d->managed ? "true" : "false");
	fputc('}', out);
}

void inventory_print_json(const struct inventory *inv, FILE *out)
{
	fputc('[', out);
	for (size_t i = 0; i < inv->count; i++) {
		fputs(i ? ",\n  " : "\n  ", out);
		inventory_json_dev(&inv->devs[i], out);
	}
	fputs(inv->count ? "\n]\n" : "]\n", out);
}
