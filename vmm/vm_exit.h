/* The end of a VM: the first thread to ask decides the exit status and the message;
 * the main thread wakes on the eventfd and tears the machine down. */
#ifndef CONDUIT_VM_EXIT_H
#define CONDUIT_VM_EXIT_H

#include <pthread.h>
#include <stdbool.h>

/* Exit statuses of `conduit run` (README, "Exit status"). */
#define EXIT_GUEST_DONE	 0 /* guest powered off or rebooted */
#define EXIT_BAD_INPUT	 1 /* bad usage or host state */
#define EXIT_GUEST_CRASH 2 /* triple fault, KVM internal error */

struct vm_exit {
	int fd; /* eventfd: written once when the VM must stop */
	pthread_mutex_t lock;
	bool requested;
	int status;
	char message[256];
};

int vm_exit_init(struct vm_exit *e);
void vm_exit_destroy(struct vm_exit *e);
void vm_exit_request(struct vm_exit *e, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_exit_requested(struct vm_exit *e);

#endif
