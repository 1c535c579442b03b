/* Rate-limited guest-caused log lines (vmm/base/log.c): the burst, the window, the count of
 * lines left out, and one call site's limit not touching another's. */
#include "tests/unit/check.h"
#include "vmm/base/log.h"

#define SEC 1000000000ULL

static void test_window(void)
{
	struct log_limit l = {0};
	unsigned int i, passed = 0, dropped = 0, d;

	for (i = 0; i < 100; i++) {
		passed += log_limit_pass(&l, 7 * SEC + i, &d);
		dropped += d;
	}
	CHECK(passed == LOG_LIMIT_BURST && dropped == 0);
	/* still the same window just before it ends */
	CHECK(!log_limit_pass(&l, 7 * SEC + LOG_LIMIT_WINDOW_NS - 1, &d) && d == 0);
	/* the next window says what the last one left out, then passes a new burst */
	CHECK(log_limit_pass(&l, 7 * SEC + LOG_LIMIT_WINDOW_NS, &d) &&
	      d == 100 - LOG_LIMIT_BURST + 1);
	CHECK(log_limit_pass(&l, 7 * SEC + LOG_LIMIT_WINDOW_NS + 1, &d) && d == 0);
}

/* A quiet call site's first line passes at any time, the clock's zero included. */
static void test_first_line(void)
{
	struct log_limit a = {0}, b = {0};
	unsigned int i, d;

	CHECK(log_limit_pass(&a, 0, &d) && d == 0);
	for (i = 0; i < 50; i++)
		log_limit_pass(&b, SEC, &d);
	CHECK(log_limit_pass(&a, SEC, &d) && d == 0);
}

int main(void)
{
	test_window();
	test_first_line();
	return CHECK_DONE();
}
