/* `conduit ctl`: the client of a running conduit's control socket (--api-socket). */
#ifndef CONDUIT_VMM_CTL_CMD_H
#define CONDUIT_VMM_CTL_CMD_H

/* argv[0] is "ctl"; the process's exit status. */
int ctl_cmd(int argc, char **argv);

#endif
