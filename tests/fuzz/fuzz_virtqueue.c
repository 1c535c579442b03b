/*
 * libFuzzer target: split virtqueues against arbitrary guest memory. The input is a
 * 16-byte header (queue size, features, ring addresses) followed by the contents of
 * guest RAM from address 0. Chains are popped (and pushed back, which writes into
 * that RAM too) until the ring is empty or broken; every buffer handed out must lie
 * inside guest RAM, and the counts and totals must agree with the iovecs.
 */
#include "virtio/virtqueue.h"

#include <stdlib.h>
#include <string.h>

#define RAM_SIZE (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_ram ram;
static struct vq_chain chain;

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_chain(const struct virtqueue *vq, const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;
	unsigned int i, n = c->nr_out + c->nr_in;

	if (n == 0 || n > vq->size || n > VQ_MAX_IOV || c->head >= vq->size)
		abort();
	for (i = 0; i < n; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;

		if (len == 0 || p < ram.host || p > ram.host + ram.size || len > ram.size ||
		    (size_t)(ram.host + ram.size - p) < len)
			abort();
		if (i < c->nr_out)
			out += len;
		else
			in += len;
	}
	if (out != c->out_len || in != c->in_len || out + in > (1ULL << 32))
		abort();
}

static void serve(struct virtqueue *vq, uint8_t mode)
{
	unsigned int budget = 3u * vq->size + 3;
	int ret;

	while (budget--) {
		if (mode & 4)
			vq_disable_notify(vq);
		ret = vq_pop(vq, &chain);
		if (ret < 0)
			return;
		if (ret == 0) {
			if (!vq_enable_notify(vq))
				return;
			continue;
		}
		check_chain(vq, &chain);
		vq_push(vq, chain.head, (uint32_t)chain.in_len);
		if (mode & 8)
			(void)vq_should_notify(vq);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtqueue vq;
	uint16_t qsize;
	uint8_t mode;

	if (!ram.host && guest_ram_create(&ram, RAM_SIZE, 0))
		abort();
	if (size < 16)
		return 0;
	qsize = (uint16_t)(1u << (data[0] % 16));
	mode = data[1];
	memset(ram.host, 0, RAM_SIZE);
	memcpy(ram.host, data + 16, size - 16 < RAM_SIZE ? size - 16 : RAM_SIZE);
	if (vq_init(&vq, &ram, qsize, le32_at(data + 4) % RAM_SIZE, le32_at(data + 8) % RAM_SIZE,
		    le32_at(data + 12) % RAM_SIZE, mode & 1, mode & 2))
		return 0;
	serve(&vq, mode);
	return 0;
}
