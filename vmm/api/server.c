#include "vmm/api/server.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A socket file at path that nobody accepts on: left by a conduit that died. */
static bool socket_is_stale(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool stale;

	if (fd < 0)
		return false;
	memcpy(a.sun_path, path, strlen(path));
	stale = connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

/* Whatever is at path may go: nothing, or a stale socket. */
static int clear_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("--api-socket %s: the path exists and is not a socket: remove it or "
			  "choose another path",
			  path);
		return -1;
	}
	if (!socket_is_stale(path)) {
		log_error("--api-socket %s: another process serves this socket: choose another "
			  "path",
			  path);
		return -1;
	}
	return unlink(path);
}

/* bind() creates the file with the process umask: 0177 makes it 0600 from the start,
 * with no moment at which others could connect. */
static int bind_private(int fd, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	mode_t old = umask(0177);
	int ret;

	memcpy(a.sun_path, path, strlen(path));
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	return ret;
}

int api_server_open(struct api_server *s, const char *path, api_handler_fn handle, void *ctx)
{
	*s = (struct api_server){.fd = -1, .handle = handle, .ctx = ctx, .uid = geteuid()};
	if (!*path || strlen(path) >= sizeof(s->path)) {
		log_error("--api-socket '%s': a socket path needs 1 to %zu characters", path,
			  sizeof(s->path) - 1);
		return -1;
	}
	if (clear_path(path))
		return -1;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0 || bind_private(s->fd, path) || listen(s->fd, API_MAX_CONNS)) {
		log_error("--api-socket %s: cannot create the socket: %s", path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return -1;
	}
	memcpy(s->path, path, strlen(path) + 1);
	return 0;
}

unsigned int api_server_pollfds(const struct api_server *s, struct pollfd *p, unsigned int max)
{
	unsigned int n = 0;

	if (s->fd < 0 || !max)
		return 0;
	p[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	for (unsigned int i = 0; i < API_MAX_CONNS && n < max; i++)
		if (s->conn[i])
			p[n++] = (struct pollfd){.fd = s->conn[i]->fd, .events = POLLIN};
	return n;
}

static void conn_close(struct api_server *s, unsigned int i)
{
	close(s->conn[i]->fd);
	free(s->conn[i]);
	s->conn[i] = NULL;
}

/* One line to the peer, or the connection goes: a peer whose socket buffer is full
 * does not read, and the main thread does not wait for it. */
static void conn_send(struct api_server *s, unsigned int i, json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text);
	char *line = malloc(len + 1);
	ssize_t n = -1;

	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		n = send(s->conn[i]->fd, line, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	free(line);
	if (n != (ssize_t)len + 1)
		conn_close(s, i);
}

static void conn_reply_error(struct api_server *s, unsigned int i, const char *err)
{
	json_object *msg = json_object_new_object();

	json_object_object_add(msg, "error", json_object_new_string(err));
	conn_send(s, i, msg);
	json_object_put(msg);
}

static void conn_reply(struct api_server *s, unsigned int i, json_object *ret)
{
	json_object *msg = json_object_new_object();

	json_object_object_add(msg, "return", ret);
	conn_send(s, i, msg);
	json_object_put(msg);
}

/* One request line: parsed, answered; `events` is the connection's own business. */
static void conn_request(struct api_server *s, unsigned int i, const char *line, size_t len)
{
	struct api_request req;
	json_object *ret;
	char err[512];

	if (api_request_parse(line, len, &req, err, sizeof(err))) {
		conn_reply_error(s, i, err);
		return;
	}
	if (req.command == API_EVENTS) {
		s->conn[i]->events = true;
		conn_reply(s, i, json_object_new_object());
		return;
	}
	ret = s->handle(s->ctx, &req, err, sizeof(err));
	api_request_free(&req);
	if (ret)
		conn_reply(s, i, ret);
	else
		conn_reply_error(s, i, err);
}

/* Reads what there is and answers each complete line; EOF, an error or a line longer
 * than API_MAX_LINE ends the connection. */
static void conn_read(struct api_server *s, unsigned int i)
{
	struct api_conn *c = s->conn[i];
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	char *nl;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(s, i);
		return;
	}
	c->len += (size_t)n;
	while (s->conn[i] && (nl = memchr(c->buf, '\n', c->len))) {
		size_t line = (size_t)(nl - c->buf);

		conn_request(s, i, c->buf, line);
		if (!s->conn[i])
			return;
		memmove(c->buf, nl + 1, c->len - line - 1);
		c->len -= line + 1;
	}
	if (c->len == sizeof(c->buf)) {
		conn_reply_error(s, i, "a request line is longer than 65535 bytes");
		if (s->conn[i])
			conn_close(s, i);
	}
}

/* Only conduit's own user and root may drive the VM (SO_PEERCRED, socket(7)). */
static bool peer_allowed(const struct api_server *s, int fd, char *err, size_t errlen)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		snprintf(err, errlen, "cannot tell who is connecting: %s", strerror(errno));
		return false;
	}
	if (cred.uid == 0 || cred.uid == s->uid)
		return true;
	snprintf(err, errlen,
		 "permission denied: uid %u is neither conduit's user (uid %u) nor root",
		 (unsigned int)cred.uid, (unsigned int)s->uid);
	return false;
}

static void server_accept(struct api_server *s)
{
	int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned int i;
	char err[256];

	if (fd < 0)
		return;
	for (i = 0; i < API_MAX_CONNS && s->conn[i]; i++)
		;
	if (i < API_MAX_CONNS)
		s->conn[i] = calloc(1, sizeof(*s->conn[i]));
	if (i == API_MAX_CONNS || !s->conn[i]) {
		close(fd);
		log_warn("api: a connection refused: %d are open already", API_MAX_CONNS);
		return;
	}
	s->conn[i]->fd = fd;
	if (!peer_allowed(s, fd, err, sizeof(err))) {
		log_warn("api: a connection refused: %s", err);
		conn_reply_error(s, i, err);
		if (s->conn[i])
			conn_close(s, i);
	}
}

void api_server_serve(struct api_server *s, const struct pollfd *p, unsigned int n)
{
	for (unsigned int k = 1; k < n; k++) {
		if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (unsigned int i = 0; i < API_MAX_CONNS; i++)
			if (s->conn[i] && s->conn[i]->fd == p[k].fd)
				conn_read(s, i);
	}
	if (n && p[0].revents & POLLIN)
		server_accept(s);
}

void api_server_event(struct api_server *s, const char *name, json_object *data)
{
	json_object *msg = json_object_new_object(), *ts = json_object_new_object();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(ts, "seconds", json_object_new_int64(now.tv_sec));
	json_object_object_add(ts, "microseconds", json_object_new_int64(now.tv_nsec / 1000));
	json_object_object_add(msg, "event", json_object_new_string(name));
	json_object_object_add(msg, "timestamp", ts);
	json_object_object_add(msg, "data", data ? data : json_object_new_object());
	for (unsigned int i = 0; i < API_MAX_CONNS; i++)
		if (s->conn[i] && s->conn[i]->events)
			conn_send(s, i, msg);
	json_object_put(msg);
}

void api_server_close(struct api_server *s)
{
	for (unsigned int i = 0; i < API_MAX_CONNS; i++)
		if (s->conn[i])
			conn_close(s, i);
	if (s->fd < 0)
		return;
	close(s->fd);
	unlink(s->path);
	s->fd = -1;
}
