#include "vmm/vcpu_gate.h"

void vcpu_gate_init(struct vcpu_gate *g)
{
	*g = (struct vcpu_gate){0};
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

void vcpu_gate_destroy(struct vcpu_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* The unlocked look is only a fast path: a gate closed just after it is seen at the
 * next pass, as the kick that comes with the closing makes KVM_RUN return. */
bool vcpu_gate_pass(struct vcpu_gate *g, struct vm_exit *exit)
{
	bool parked = false;

	if (!__atomic_load_n(&g->closed, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&g->lock);
	if (g->closed) {
		g->parked++;
		pthread_cond_broadcast(&g->cond);
		while (g->closed && !vm_exit_requested(exit))
			pthread_cond_wait(&g->cond, &g->lock);
		g->parked--;
		parked = true;
	}
	pthread_mutex_unlock(&g->lock);
	return parked;
}

void vcpu_gate_leave(struct vcpu_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->stopped++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void vcpu_gate_close(struct vcpu_gate *g, unsigned int nr, void (*kick)(void *ctx, unsigned int i),
		     void *ctx)
{
	pthread_mutex_lock(&g->lock);
	__atomic_store_n(&g->closed, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g->lock);
	for (unsigned int i = 0; i < nr; i++)
		kick(ctx, i);
	pthread_mutex_lock(&g->lock);
	while (g->parked + g->stopped < nr)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* Under the lock, so a thread between its look at the VM's end and its wait cannot
 * miss the wakeup. */
void vcpu_gate_open(struct vcpu_gate *g)
{
	pthread_mutex_lock(&g->lock);
	__atomic_store_n(&g->closed, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

bool vcpu_gate_is_closed(struct vcpu_gate *g)
{
	return __atomic_load_n(&g->closed, __ATOMIC_ACQUIRE);
}
