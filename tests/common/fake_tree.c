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
