#include "virtio/poll_window.h"

void poll_window_update(struct poll_window *w, uint64_t waited_ns)
{
	if (waited_ns <= w->ns)
		return;
	if (waited_ns > w->max_ns) {
		w->ns = 0;
		return;
	}
	if (w->ns < w->max_ns && waited_ns < w->max_ns) {
		w->ns = w->ns ? 2 * w->ns : POLL_WINDOW_START_NS;
		if (w->ns > w->max_ns)
			w->ns = w->max_ns;
	}
}
