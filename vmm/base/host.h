/*
 * Facts about the host read from its file systems (sysfs, /proc, /dev) under a root:
 * "/" (or "") is the host itself, any other directory a fake tree a unit test built.
 * Paths are printf formats of absolute host paths: host_exists(root, "/dev/vfio/%d", n).
 */
#ifndef CONDUIT_HOST_H
#define CONDUIT_HOST_H

#include <stdbool.h>
#include <stddef.h>

#define HOST_FMT(a, b) __attribute__((format(printf, a, b)))

/* root + the formatted host path into buf. */
void host_path(char *buf, size_t len, const char *root, const char *fmt, ...) HOST_FMT(4, 5);
bool host_exists(const char *root, const char *fmt, ...) HOST_FMT(2, 3);
/* The first line of a file (a sysfs attribute), without its newline; 0 or -1. */
int host_read_line(const char *root, char *out, size_t len, const char *fmt, ...) HOST_FMT(4, 5);
/* The last component of a symlink's target, which is how sysfs names a device's
 * driver, IOMMU group and physical function; 0 or -1. */
int host_link_name(const char *root, char *out, size_t len, const char *fmt, ...) HOST_FMT(4, 5);
/* Writes value to a file (a sysfs attribute) in one write; 0 or -errno. */
int host_write_line(const char *root, const char *value, const char *fmt, ...) HOST_FMT(3, 4);

#endif
