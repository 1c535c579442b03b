/* A scratch disk for the virtio fuzz targets: a 1 MiB file made once per process, in
 * $TMPDIR (the build directory under meson: io_uring does the I/O) or in /dev/shm
 * (tmpfs: the I/O thread copies), removed at exit. */
#ifndef CONDUIT_FUZZ_DISK_H
#define CONDUIT_FUZZ_DISK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_disk_path[2][256];

static inline void fuzz_disk_remove(void)
{
	if (*fuzz_disk_path[0])
		unlink(fuzz_disk_path[0]);
	if (*fuzz_disk_path[1])
		unlink(fuzz_disk_path[1]);
}

static inline const char *fuzz_disk(bool in_memory)
{
	char *p = fuzz_disk_path[in_memory];
	const char *dir = in_memory ? "/dev/shm" : getenv("TMPDIR");
	int fd;

	if (*p)
		return p;
	snprintf(p, sizeof(fuzz_disk_path[0]), "%s/conduit-fuzz-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(p);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	close(fd);
	atexit(fuzz_disk_remove);
	return p;
}

#endif
