/* Fake host trees for unit tests: the sysfs, /proc and /dev files and links a test
 * lays out under a temporary root. A tree that cannot be built aborts the test. */
#ifndef CONDUIT_TESTS_FAKE_TREE_H
#define CONDUIT_TESTS_FAKE_TREE_H

#include <stddef.h>

/* A formatted path or value; the last eight stay valid. */
const char *tree_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdir -p */
void tree_mkdirs(const char *path);
void tree_put(const char *path, const void *data, size_t len);
void tree_put_text(const char *path, const char *text);
/* A symlink at path to target, replacing one that is there. */
void tree_link(const char *target, const char *path);
/* A PCI function under root/sys as Linux and libpci's sysfs method show it (vendor
 * 8086): attributes, config space, IOMMU group `group`, bound to driver ("": none). */
void tree_pci_fn(const char *root, const char *bdf, unsigned int device, unsigned int class,
		 int group, const char *driver);
/* rm -rf */
void tree_remove(const char *root);

#endif
