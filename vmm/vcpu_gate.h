/*
 * Pausing the vCPUs (`conduit ctl PATH pause`): the gate every vCPU thread passes
 * before each KVM_RUN. While it is closed the threads park at it; vcpu_gate_close()
 * returns once every running thread has. A VM that is ending opens every gate.
 */
#ifndef CONDUIT_VMM_VCPU_GATE_H
#define CONDUIT_VMM_VCPU_GATE_H

#include "vmm/vm_exit.h"

#include <pthread.h>
#include <stdbool.h>

struct vcpu_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed;
	unsigned int parked;  /* threads waiting at the gate */
	unsigned int stopped; /* threads that have left their loop for good */
};

void vcpu_gate_init(struct vcpu_gate *g);
void vcpu_gate_destroy(struct vcpu_gate *g);
/* vCPU threads: before KVM_RUN; true when the thread parked (and KVM_RUN must not
 * see a kick meant for the pause). */
bool vcpu_gate_pass(struct vcpu_gate *g, struct vm_exit *exit);
/* vCPU threads: leaving the run loop. */
void vcpu_gate_leave(struct vcpu_gate *g);
/* Main thread: closes the gate and waits until all nr threads are parked or gone;
 * kick() makes each leave KVM_RUN. */
void vcpu_gate_close(struct vcpu_gate *g, unsigned int nr, void (*kick)(void *ctx, unsigned int i),
		     void *ctx);
/* Main thread: opens it (resume, and the end of the VM). */
void vcpu_gate_open(struct vcpu_gate *g);
bool vcpu_gate_is_closed(struct vcpu_gate *g);

#endif
