/* The chain-buffer copies (virtio/iov.c): across iovec boundaries, short chains,
 * empty iovecs, and the tail after a header. */
#include "tests/unit/check.h"
#include "virtio/iov.h"

#include <string.h>

static char a[] = "0123", b[] = "", c[] = "456789";
static struct iovec chain[3];

static void fresh(void)
{
	memcpy(a, "0123", 4);
	memcpy(c, "456789", 6);
	chain[0] = (struct iovec){a, 4};
	chain[1] = (struct iovec){b, 0};
	chain[2] = (struct iovec){c, 6};
}

static void test_to_buf(void)
{
	char out[16] = {0};

	fresh();
	CHECK(iov_to_buf(chain, 3, out, 6) == 6 && !memcmp(out, "012345", 6));
	CHECK(iov_to_buf(chain, 3, out, 16) == 10 && !memcmp(out, "0123456789", 10));
	CHECK(iov_to_buf(chain, 1, out, 6) == 4); /* only the first iovec counts */
	CHECK(iov_to_buf(chain, 3, out, 0) == 0);
}

static void test_from_buf(void)
{
	fresh();
	CHECK(iov_from_buf(chain, 3, "abcdefg", 7) == 7);
	CHECK(!memcmp(a, "abcd", 4) && !memcmp(c, "efg789", 6));
	CHECK(iov_from_buf(chain, 3, "ABCDEFGHIJKLMNOP", 16) == 10);
	CHECK(!memcmp(c, "EFGHIJ", 6));
}

static void test_drop(void)
{
	struct iovec *rest;
	unsigned int n = 3;

	fresh();
	rest = iov_drop(chain, &n, 5);
	CHECK(n == 1 && rest == &chain[2] && rest->iov_base == c + 1 && rest->iov_len == 5);
	fresh();
	n = 3;
	rest = iov_drop(chain, &n, 4); /* exactly the first iovec */
	CHECK(n == 2 && rest == &chain[1]);
	n = 3;
	fresh();
	iov_drop(chain, &n, 99);
	CHECK(n == 0);
}

static void test_tail(void)
{
	struct iovec out[3];

	fresh();
	CHECK(iov_tail(chain, 3, 2, out, 3) == 2);
	CHECK(out[0].iov_base == a + 2 && out[0].iov_len == 2 && out[1].iov_base == c &&
	      out[1].iov_len == 6);
	CHECK(iov_tail(chain, 3, 4, out, 3) == 1 && out[0].iov_base == c); /* no empty ones */
	CHECK(iov_tail(chain, 3, 10, out, 3) == 0);
	CHECK(iov_tail(chain, 3, 0, out, 1) == -1); /* more than max */
}

int main(void)
{
	test_to_buf();
	test_from_buf();
	test_drop();
	test_tail();
	return CHECK_DONE();
}
