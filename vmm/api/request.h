/*
 * The control socket's protocol (README, "Control socket"): one JSON object per line.
 * A request names a command and its arguments:
 *   {"command": "info"}
 *   {"command": "add-device", "args": ["--disk", "path=/img,bus=rp2"]}
 *   {"command": "remove-device", "id": "disk0"}
 * and gets one reply line, {"return": {...}} or {"error": "what is wrong and the fix"}.
 * After {"command": "events"} the connection also carries event lines,
 *   {"event": "guest-powered-off", "timestamp": {"seconds": S, "microseconds": US},
 *    "data": {...}}.
 * Requests come from other processes and are parsed as hostile input.
 */
#ifndef CONDUIT_VMM_API_REQUEST_H
#define CONDUIT_VMM_API_REQUEST_H

#include <stddef.h>

#define API_MAX_LINE	65536 /* a request line, newline included */
#define API_ID_LEN	64
#define API_MAX_ARGS	8 /* add-device: conduit run's options for one device */
#define API_MAX_ARG_LEN 4096

enum api_command {
	API_INFO,
	API_PAUSE,
	API_RESUME,
	API_POWER_BUTTON,
	API_EVENTS,
	API_COUNTERS,
	API_ADD_DEVICE,
	API_REMOVE_DEVICE,
	API_NR_COMMANDS,
};

struct api_request {
	enum api_command command;
	char id[API_ID_LEN];	  /* remove-device */
	char *args[API_MAX_ARGS]; /* add-device */
	unsigned int nr_args;
};

/* Parses one request line (len bytes, no newline, not NUL-terminated); 0, or -1 with
 * the reason in err. A parsed request is released with api_request_free(). */
int api_request_parse(const char *line, size_t len, struct api_request *req, char *err,
		      size_t errlen);
/* The request line (a malloc'd string, no newline) for `conduit ctl`'s arguments
 * after the socket path, argv[0] being the command; NULL with the reason in err. */
char *api_request_from_args(int argc, char **argv, char *err, size_t errlen);
void api_request_free(struct api_request *req);
const char *api_command_name(enum api_command c);

#endif
