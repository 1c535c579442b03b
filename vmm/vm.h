/* `conduit run`: builds the machine the options describe, runs it, tears it down. */
#ifndef CONDUIT_VM_H
#define CONDUIT_VM_H

#include "vmm/options.h"
#include "vmm/vm_exit.h" /* the EXIT_ statuses vm_run returns */

int vm_run(const struct vm_options *opts);

#endif
