/*
 * libFuzzer target: the control socket's requests (vmm/api/request.h) as a peer sends
 * them, through the server's own line handling: the input goes down one end of a
 * socket pair whose other end is a connection of a server with a handler that answers
 * every command. Invariants: a request that parses names a known command and has the
 * argument that command takes (add-device its words, remove-device an id); a refused
 * one has a reason; every reply line the server writes is a JSON object with exactly
 * one of "return" and "error".
 */
#include "vmm/api/request.h"
#include "vmm/api/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static json_object *handler(void *ctx, const struct api_request *req, char *err, size_t errlen)
{
	(void)ctx;
	if (req->command >= API_NR_COMMANDS)
		abort();
	if (req->command == API_COUNTERS) {
		snprintf(err, errlen, "refused");
		return NULL;
	}
	return json_object_new_string(api_command_name(req->command));
}

static void check_parse(const uint8_t *data, size_t size)
{
	struct api_request req;
	char err[256] = "";

	if (!api_request_parse((const char *)data, size, &req, err, sizeof(err))) {
		if (req.command >= API_NR_COMMANDS || req.nr_args > API_MAX_ARGS ||
		    (req.command == API_ADD_DEVICE) != (req.nr_args > 0) ||
		    (req.command == API_REMOVE_DEVICE) != (req.id[0] != 0))
			abort();
		api_request_free(&req);
	} else if (!err[0] || !memchr(err, 0, sizeof(err))) {
		abort();
	}
}

static void check_reply(const char *line)
{
	json_object *o = json_tokener_parse(line), *v;
	int n;

	if (!o || !json_object_is_type(o, json_type_object))
		abort();
	n = json_object_object_get_ex(o, "return", &v) + json_object_object_get_ex(o, "error", &v);
	if (n != 1 || json_object_object_length(o) != 1)
		abort();
	json_object_put(o);
}

static void check_replies(int fd)
{
	static char buf[1 << 18];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	char *line, *save = NULL;

	if (n <= 0)
		return;
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		check_reply(line);
}

/* The server side of a socket pair, as api_server_serve() sees an accepted peer. */
static void check_server(const uint8_t *data, size_t size)
{
	struct api_server s = {.fd = -1, .handle = handler};
	struct pollfd p[2];
	int sv[2];

	if (size > 32768 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	s.conn[0] = calloc(1, sizeof(*s.conn[0]));
	s.conn[0]->fd = sv[0];
	if (write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	p[0] = (struct pollfd){.fd = -1};
	p[1] = (struct pollfd){.fd = sv[0], .revents = POLLIN};
	while (s.conn[0])
		api_server_serve(&s, p, 2); /* until EOF closes the connection */
	check_replies(sv[1]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	size_t off = 0;

	while (off < size) {
		nl = memchr(data + off, '\n', size - off);
		check_parse(data + off, (nl ? (size_t)(nl - data) : size) - off);
		off = nl ? (size_t)(nl - data) + 1 : size;
	}
	check_server(data, size);
	return 0;
}
