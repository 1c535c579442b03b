#include "virtio/iov.h"

#include <string.h>

size_t iov_to_buf(const struct iovec *iov, unsigned int n, void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t done = 0;

	for (; n && done < len; iov++, n--) {
		size_t k = iov->iov_len < len - done ? iov->iov_len : len - done;

		memcpy(d + done, iov->iov_base, k);
		done += k;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t done = 0;

	for (; n && done < len; iov++, n--) {
		size_t k = iov->iov_len < len - done ? iov->iov_len : len - done;

		memcpy(iov->iov_base, s + done, k);
		done += k;
	}
	return done;
}

struct iovec *iov_drop(struct iovec *iov, unsigned int *n, uint64_t len)
{
	while (len && *n) {
		if (iov->iov_len > len) {
			iov->iov_base = (uint8_t *)iov->iov_base + len;
			iov->iov_len -= len;
			break;
		}
		len -= iov->iov_len;
		iov++;
		(*n)--;
	}
	return iov;
}

int iov_tail(const struct iovec *iov, unsigned int n, size_t len, struct iovec *out,
	     unsigned int max)
{
	unsigned int k = 0;

	for (; n; iov++, n--) {
		size_t skip = len < iov->iov_len ? len : iov->iov_len;

		len -= skip;
		if (skip == iov->iov_len)
			continue;
		if (k == max)
			return -1;
		out[k].iov_base = (uint8_t *)iov->iov_base + skip;
		out[k++].iov_len = iov->iov_len - skip;
	}
	return (int)k;
}
