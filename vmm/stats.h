/* `conduit run --stats`: startup latency, the VMM's own memory and the number of
 * exits to userspace, printed at exit; with assigned devices, how long mapping guest
 * RAM for their DMA took; a line per virtio device conduit serves, with its work. */
#ifndef CONDUIT_STATS_H
#define CONDUIT_STATS_H

#include "virtio/virtio_dev.h"
#include "vmm/base/memory.h"

#include <stdint.h>

void stats_process_start(void);
void stats_first_run(void);
void stats_report(const struct guest_ram *ram, uint64_t exits, double dma_map_seconds);
void stats_device(const char *id, const struct virtio_queue_stats *s);

#endif
