#include "vmm/vm_exit.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int vm_exit_init(struct vm_exit *e)
{
	*e = (struct vm_exit){.fd = eventfd(0, EFD_CLOEXEC)};
	if (e->fd < 0) {
		log_error("cannot create the VM's exit eventfd: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&e->lock, NULL);
	return 0;
}

void vm_exit_destroy(struct vm_exit *e)
{
	if (e->fd < 0)
		return;
	close(e->fd);
	e->fd = -1;
	pthread_mutex_destroy(&e->lock);
}

void vm_exit_request(struct vm_exit *e, int status, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&e->lock);
	if (!e->requested) {
		va_start(ap, fmt);
		vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
		e->status = status;
		__atomic_store_n(&e->requested, true, __ATOMIC_RELEASE);
		if (write(e->fd, &one, sizeof(one)) < 0)
			log_error("cannot signal VM exit: %s", strerror(errno));
	}
	pthread_mutex_unlock(&e->lock);
}

bool vm_exit_requested(struct vm_exit *e)
{
	return __atomic_load_n(&e->requested, __ATOMIC_ACQUIRE);
}
