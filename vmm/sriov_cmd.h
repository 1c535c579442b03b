/* `conduit sriov`: a host's SR-IOV PFs and their VFs, shown and set up without a guest. */
#ifndef CONDUIT_VMM_SRIOV_CMD_H
#define CONDUIT_VMM_SRIOV_CMD_H

/* argv[0] is "sriov"; the process's exit status. */
int sriov_cmd(int argc, char **argv);

#endif
