/*
 * The control socket's server (--api-socket PATH): a UNIX stream socket created 0600,
 * whose peers must be conduit's own user or root (SO_PEERCRED), served by the main
 * thread's poll loop. Each request line gets its reply from the handler; connections
 * that asked for events also get every event. Nothing here blocks: a peer that does
 * not read its replies is dropped.
 */
#ifndef CONDUIT_VMM_API_SERVER_H
#define CONDUIT_VMM_API_SERVER_H

#include "vmm/api/request.h"

#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#define API_MAX_CONNS 16

/* The answer to req: a JSON value for {"return": ...} (owned by the caller now), or
 * NULL with the reason in err for {"error": ...}. */
typedef json_object *(*api_handler_fn)(void *ctx, const struct api_request *req, char *err,
				       size_t errlen);

struct api_conn {
	int fd;
	bool events; /* asked for the event stream */
	size_t len;  /* bytes in buf */
	char buf[API_MAX_LINE];
};

struct api_server {
	int fd; /* listening; -1 when there is no socket */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct api_conn *conn[API_MAX_CONNS];
	api_handler_fn handle;
	void *ctx;
	uid_t uid; /* conduit's user, whose peers may connect (and root) */
};

/* Creates the socket at path (a stale socket left there by a dead conduit is
 * replaced; anything else is an error); 0, or -1 with one line logged. */
int api_server_open(struct api_server *s, const char *path, api_handler_fn handle, void *ctx);
/* Fills at most max pollfds (the listening socket, then connections); returns how
 * many. */
unsigned int api_server_pollfds(const struct api_server *s, struct pollfd *p, unsigned int max);
/* Serves what poll() found on the pollfds api_server_pollfds() filled. */
void api_server_serve(struct api_server *s, const struct pollfd *p, unsigned int n);
/* Sends an event to every connection that asked for events; data may be NULL and is
 * consumed. */
void api_server_event(struct api_server *s, const char *name, json_object *data);
/* Closes every connection and removes the socket. */
void api_server_close(struct api_server *s);

#endif
