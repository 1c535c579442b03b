#include "tests/common/fake_tree.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void tree_fail(const char *what, const char *path)
{
	fprintf(stderr, "fake tree: cannot %s %s\n", what, path);
	abort();
}

const char *tree_at(const char *fmt, ...)
{
	static char bufs[8][512];
	static unsigned int next;
	char *buf = bufs[next++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return buf;
}

void tree_mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	if (mkdir(buf, 0755) && access(buf, F_OK))
		tree_fail("make", path);
}

void tree_put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, len, f) != len)
		tree_fail("write", path);
	fclose(f);
}

void tree_put_text(const char *path, const char *text)
{
	tree_put(path, text, strlen(text));
}

void tree_link(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path))
		tree_fail("link", path);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tree_remove(const char *root)
{
	nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tree_pci_fn(const char *root, const char *bdf, unsigned int device, unsigned int class,
		 int group, const char *driver)
{
	unsigned char config[64] = {0x86, 0x80, device & 0xff, device >> 8};
	const char *dir = tree_at("%s/sys/bus/pci/devices/%s", root, bdf);

	config[10] = (class >> 8) & 0xff;
	config[11] = class >> 16;
	tree_mkdirs(dir);
	tree_put_text(tree_at("%s/vendor", dir), "0x8086\n");
	tree_put_text(tree_at("%s/device", dir), tree_at("0x%04x\n", device));
	tree_put_text(tree_at("%s/class", dir), tree_at("0x%06x\n", class));
	tree_put(tree_at("%s/config", dir), config, sizeof(config));
	tree_mkdirs(tree_at("%s/sys/kernel/iommu_groups/%d/devices", root, group));
	tree_link(tree_at("../../../../bus/pci/devices/%s", bdf),
		  tree_at("%s/sys/kernel/iommu_groups/%d/devices/%s", root, group, bdf));
	tree_link(tree_at("../../../../kernel/iommu_groups/%d", group),
		  tree_at("%s/iommu_group", dir));
	if (driver[0]) {
		tree_mkdirs(tree_at("%s/sys/bus/pci/drivers/%s", root, driver));
		tree_link(tree_at("../../drivers/%s", driver), tree_at("%s/driver", dir));
	}
}
