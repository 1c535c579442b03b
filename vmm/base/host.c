#include "vmm/base/host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void host_vpath(char *buf, size_t len, const char *root, const char *fmt, va_list ap)
{
	char rel[PATH_MAX];

	vsnprintf(rel, sizeof(rel), fmt, ap);
	snprintf(buf, len, "%s%s", !root[0] || !strcmp(root, "/") ? "" : root, rel);
}

void host_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vpath(buf, len, root, fmt, ap);
	va_end(ap);
}

bool host_exists(const char *root, const char *fmt, ...)
{
	char path[PATH_MAX];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	host_vpath(path, sizeof(path), root, fmt, ap);
	va_end(ap);
	return stat(path, &st) == 0;
}

int host_read_line(const char *root, char *out, size_t len, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	host_vpath(path, sizeof(path), root, fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

int host_link_name(const char *root, char *out, size_t len, const char *fmt, ...)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	host_vpath(path, sizeof(path), root, fmt, ap);
	va_end(ap);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	return snprintf(out, len, "%s", base ? base + 1 : target) < (int)len ? 0 : -1;
}

int host_write_line(const char *root, const char *value, const char *fmt, ...)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	va_list ap;
	ssize_t n;
	int fd, err;

	va_start(ap, fmt);
	host_vpath(path, sizeof(path), root, fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	err = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return err;
}
