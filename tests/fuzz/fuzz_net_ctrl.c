/*
 * libFuzzer target: virtio-net's control queue commands (§5.1.6.5) as a guest sends
 * them, one after another on the same device state, and the transmit header check.
 * Input: records of a le16 length and that many bytes; a record whose first byte is
 * 0xff is a transmit header (12 bytes) and a le32 frame length instead of a command.
 * Features come from the first 8 bytes. Invariants: the pairs in use stay between 1
 * and the device's maximum; an accepted header's checksum field lies in the frame.
 */
#include "virtio/net_ctrl.h"
#include "virtio/net_io.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAIRS 4

static void check_hdr(const uint8_t *p, size_t len, uint64_t features)
{
	struct virtio_net_hdr_v1 h;
	uint32_t frame;

	if (len < 1 + sizeof(h) + 4)
		return;
	memcpy(&h, p + 1, sizeof(h));
	memcpy(&frame, p + 1 + sizeof(h), 4);
	frame = le32toh(frame);
	if (net_hdr_tx_ok(&h, frame, features) && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint64_t)le16toh(h.csum_start) + le16toh(h.csum_offset) + 2 > frame)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_ctrl c;
	uint64_t features;

	if (size < 8)
		return 0;
	memcpy(&features, data, 8);
	net_ctrl_init(&c, le64toh(features), MAX_PAIRS);
	data += 8, size -= 8;
	while (size >= 2) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;

		data += 2, size -= 2;
		if (len > size)
			len = size;
		if (len && data[0] == 0xff)
			check_hdr(data, len, c.features);
		else
			net_ctrl_exec(&c, data, len);
		if (c.pairs < 1 || c.pairs > MAX_PAIRS)
			abort();
		data += len, size -= len;
	}
	return 0;
}
