/* virtio-blk (virtio 1.2 §5.2) on a file or block device, served through io_uring. */
#ifndef CONDUIT_VIRTIO_BLK_H
#define CONDUIT_VIRTIO_BLK_H

#include "virtio/virtio_dev.h"

#include <stdbool.h>

struct blk_options {
	const char *path;
	bool readonly;
	bool direct;		  /* O_DIRECT: bypass the host page cache */
	unsigned int queues;	  /* 0 means 1 */
	unsigned int poll_us;	  /* the most an I/O thread busy-polls; 0: never */
	unsigned int coalesce_us; /* the most an interrupt waits for more completions */
	bool fixed_buffers;	  /* guest RAM as io_uring registered buffers */
	bool sqpoll;		  /* an io_uring SQPOLL kernel thread per disk */
};

/* NULL and one error line on failure (missing, locked, not a disk, ...). */
struct virtio_dev *blk_create(const struct blk_options *o);

#endif
