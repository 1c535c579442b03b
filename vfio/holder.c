#include "vfio/holder.h"
#include "vmm/base/host.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct wanted {
	char group[32], cdev[64]; /* host paths; "" when not looked for */
};

static bool is_number(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool holds(const char *root, const char *pid, const struct wanted *w)
{
	char dir[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	bool found = false;
	ssize_t n;
	DIR *d;

	host_path(dir, sizeof(dir), root, "/proc/%s/fd", pid);
	d = opendir(dir);
	if (!d)
		return false; /* gone, or not ours to look at */
	while (!found && (e = readdir(d))) {
		if (snprintf(link, sizeof(link), "%s/%s", dir, e->d_name) >= (int)sizeof(link))
			continue;
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		found = (w->group[0] && !strcmp(target, w->group)) ||
			(w->cdev[0] && !strcmp(target, w->cdev));
	}
	closedir(d);
	return found;
}

void vfio_holder_find(const char *root, int group, const char *cdev, struct vfio_holder *out)
{
	struct wanted w = {0};
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	*out = (struct vfio_holder){0};
	if (group >= 0)
		snprintf(w.group, sizeof(w.group), "/dev/vfio/%d", group);
	if (cdev)
		snprintf(w.cdev, sizeof(w.cdev), "/dev/vfio/devices/%s", cdev);
	host_path(dir, sizeof(dir), root, "/proc");
	d = opendir(dir);
	if (!d)
		return;
	while (!out->pid && (e = readdir(d))) {
		if (!is_number(e->d_name) || !holds(root, e->d_name, &w))
			continue;
		out->pid = (pid_t)strtol(e->d_name, NULL, 10);
		if (host_read_line(root, out->comm, sizeof(out->comm), "/proc/%s/comm", e->d_name))
			snprintf(out->comm, sizeof(out->comm), "?");
	}
	closedir(d);
}
