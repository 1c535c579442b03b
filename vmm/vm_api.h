/* The running VM's answers on the control socket (vmm/api/server.h). */
#ifndef CONDUIT_VMM_VM_API_H
#define CONDUIT_VMM_VM_API_H

#include "vmm/machine.h"

/* The handler for api_server_open(); ctx is the struct vm. */
json_object *vm_api_handle(void *ctx, const struct api_request *req, char *err, size_t errlen);
/* The event for the end of the VM, from its exit status; before the socket closes. */
void vm_api_ended(struct vm *vm);

#endif
