/* The control socket: request parsing, and the server on a real UNIX socket (its mode,
 * stale sockets, replies, events, long lines, peers of another uid). */
#include "tests/unit/check.h"
#include "vmm/api/request.h"
#include "vmm/api/server.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int handled;

static json_object *handler(void *ctx, const struct api_request *req, char *err, size_t errlen)
{
	json_object *o;

	(void)ctx;
	handled++;
	if (req->command == API_COUNTERS) {
		snprintf(err, errlen, "no counters here");
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "did", json_object_new_string(api_command_name(req->command)));
	return o;
}

static int parse(const char *line, struct api_request *req, char *err)
{
	return api_request_parse(line, strlen(line), req, err, 256);
}

static void test_parse(void)
{
	struct api_request req;
	char err[256];

	CHECK(!parse("{\"command\": \"info\"}", &req, err) && req.command == API_INFO);
	CHECK(!parse(" {\"command\":\"power-button\"} ", &req, err) &&
	      req.command == API_POWER_BUTTON);
	CHECK(parse("{\"command\": \"info\", \"x\": 1}", &req, err) &&
	      strstr(err, "takes no argument 'x'"));
	CHECK(parse("{\"command\": \"reboot\"}", &req, err) &&
	      strstr(err, "unknown command 'reboot'"));
	CHECK(parse("{\"command\": 1}", &req, err) && strstr(err, "no \"command\" string"));
	CHECK(parse("{}", &req, err) && strstr(err, "no \"command\""));
	CHECK(parse("[\"info\"]", &req, err) && strstr(err, "not a JSON object"));
	CHECK(parse("{\"command\": \"info\"} {}", &req, err) && strstr(err, "follows"));
	CHECK(parse("{\"command\": \"info\"", &req, err) && strstr(err, "not one JSON object"));
	CHECK(parse("", &req, err));
	/* a NUL inside the string is not the command it prefixes */
	CHECK(api_request_parse("{\"command\": \"info\\u0000x\"}", 26, &req, err, sizeof(err)) &&
	      strstr(err, "no \"command\" string"));
	/* the length given is the line: what follows is not read */
	CHECK(!api_request_parse("{\"command\": \"pause\"}garbage", 20, &req, err, sizeof(err)) &&
	      req.command == API_PAUSE);
}

/* add-device's words and remove-device's id: present, well-formed, freed. */
static void test_device_requests(void)
{
	struct api_request req;
	char err[256], *argv[] = {"add-device", "--disk", "path=/img,bus=rp1"}, *line;

	CHECK(!parse("{\"command\":\"add-device\",\"args\":[\"--vfio\",\"host=0000:00:12.0\"]}",
		     &req, err));
	CHECK(req.command == API_ADD_DEVICE && req.nr_args == 2 &&
	      !strcmp(req.args[1], "host=0000:00:12.0"));
	api_request_free(&req);
	CHECK(!parse("{\"command\":\"remove-device\",\"id\":\"vfio0\"}", &req, err) &&
	      req.command == API_REMOVE_DEVICE && !strcmp(req.id, "vfio0"));
	CHECK(parse("{\"command\":\"remove-device\"}", &req, err) && strstr(err, "needs \"id\""));
	CHECK(parse("{\"command\":\"remove-device\",\"id\":\"\"}", &req, err) &&
	      strstr(err, "device id"));
	CHECK(parse("{\"command\":\"remove-device\",\"id\":7}", &req, err));
	CHECK(parse("{\"command\":\"remove-device\",\"args\":[\"x\"]}", &req, err) &&
	      strstr(err, "it takes id"));
	CHECK(parse("{\"command\":\"add-device\",\"args\":[]}", &req, err) &&
	      strstr(err, "1 to 8 strings"));
	CHECK(parse("{\"command\":\"add-device\",\"args\":[\"--disk\",1]}", &req, err) &&
	      strstr(err, "\"args\"[1]"));
	CHECK(parse("{\"command\":\"add-device\",\"args\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
		    "\"7\",\"8\",\"9\"]}",
		    &req, err));
	CHECK(parse("{\"command\":\"add-device\",\"args\":[\"a\"],\"id\":\"x\"}", &req, err) &&
	      strstr(err, "takes no argument 'id'"));
	line = api_request_from_args(3, argv, err, sizeof(err));
	CHECK(line && !parse(line, &req, err) && req.nr_args == 2 &&
	      !strcmp(req.args[0], "--disk"));
	api_request_free(&req);
	free(line);
	argv[0] = "remove-device";
	CHECK(!api_request_from_args(3, argv, err, sizeof(err)) && strstr(err, "one device id"));
	line = api_request_from_args(2, argv, err, sizeof(err));
	CHECK(line && !parse(line, &req, err) && !strcmp(req.id, "--disk"));
	free(line);
}

static void test_from_args(void)
{
	char *argv[] = {"resume", "extra"}, err[256], *line;
	struct api_request req;

	line = api_request_from_args(1, argv, err, sizeof(err));
	CHECK(line && !parse(line, &req, err) && req.command == API_RESUME);
	free(line);
	CHECK(!api_request_from_args(2, argv, err, sizeof(err)) && strstr(err, "no argument"));
	argv[0] = "frobnicate";
	CHECK(!api_request_from_args(1, argv, err, sizeof(err)) && strstr(err, "unknown command"));
	CHECK(!api_request_from_args(0, argv, err, sizeof(err)) && strstr(err, "no command"));
}

static int client(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One turn of the main loop: what has arrived is served. */
static void serve(struct api_server *s)
{
	struct pollfd p[1 + API_MAX_CONNS];
	unsigned int n = api_server_pollfds(s, p, 1 + API_MAX_CONNS);

	poll(p, n, 100);
	api_server_serve(s, p, n);
}

/* The next line the server sent, or "" when none comes. */
static const char *reply(int fd)
{
	static char buf[4096];
	size_t len = 0;

	while (len + 1 < sizeof(buf)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 1000) <= 0 || read(fd, buf + len, 1) != 1)
			break;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = 0;
	return buf;
}

static void send_line(int fd, const char *line)
{
	CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
}

static void test_socket_file(const char *path)
{
	struct api_server s, t;
	struct stat st;
	int fd;

	CHECK(!api_server_open(&s, path, handler, NULL));
	CHECK(!stat(path, &st) && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
	CHECK(api_server_open(&t, path, handler, NULL)); /* served: not taken over */
	api_server_close(&s);
	CHECK(stat(path, &st) && errno == ENOENT);

	/* a socket nobody serves any more, as a killed conduit leaves it */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		strcpy(a.sun_path, path);
		CHECK(!bind(fd, (struct sockaddr *)&a, sizeof(a)));
	}
	close(fd);
	CHECK(!api_server_open(&s, path, handler, NULL));
	api_server_close(&s);

	fd = open(path, O_CREAT | O_WRONLY, 0600); /* a file is not replaced */
	close(fd);
	CHECK(api_server_open(&s, path, handler, NULL));
	unlink(path);
	CHECK(api_server_open(&s, "", handler, NULL));
}

static void test_requests(const char *path)
{
	struct api_server s;
	int a, b;

	CHECK(!api_server_open(&s, path, handler, NULL));
	a = client(path);
	b = client(path);
	serve(&s); /* accepts */
	serve(&s);
	send_line(a, "{\"command\":\"info\"}\n{\"command\":\"pause\"}\n");
	serve(&s);
	CHECK(!strcmp(reply(a), "{\"return\":{\"did\":\"info\"}}\n"));
	CHECK(!strcmp(reply(a), "{\"return\":{\"did\":\"pause\"}}\n"));
	send_line(a, "{\"command\":\"counters\"}\nnot json\n");
	serve(&s);
	CHECK(!strcmp(reply(a), "{\"error\":\"no counters here\"}\n"));
	CHECK(strstr(reply(a), "{\"error\":\"the request is not one JSON object"));
	CHECK(handled == 3);

	/* a request split over two writes is one request */
	send_line(b, "{\"command\":");
	serve(&s);
	send_line(b, "\"events\"}\n");
	serve(&s);
	CHECK(!strcmp(reply(b), "{\"return\":{}}\n"));
	api_server_event(&s, "paused", NULL);
	CHECK(strstr(reply(b), "{\"event\":\"paused\",\"timestamp\":{\"seconds\":"));
	CHECK(!strcmp(reply(a), "")); /* not subscribed */
	CHECK(handled == 3);	      /* events is the server's own */

	close(b);
	serve(&s); /* EOF: the connection goes */
	api_server_event(&s, "resumed", NULL);
	api_server_close(&s);
	CHECK(!strcmp(reply(a), "")); /* closed with the server */
	close(a);
}

static void test_long_line(const char *path)
{
	struct api_server s;
	char *big = malloc(API_MAX_LINE);
	int a;

	CHECK(!api_server_open(&s, path, handler, NULL));
	a = client(path);
	serve(&s);
	memset(big, ' ', API_MAX_LINE);
	CHECK(write(a, big, API_MAX_LINE) == API_MAX_LINE);
	for (int i = 0; i < 8; i++)
		serve(&s);
	CHECK(strstr(reply(a), "longer than 65535 bytes"));
	CHECK(!strcmp(reply(a), "")); /* and closed */
	api_server_close(&s);
	close(a);
	free(big);
}

/* Another uid gets past a socket file opened up to it, not past SO_PEERCRED. */
static void test_other_uid(const char *path)
{
	struct api_server s;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		fprintf(stderr, "not root: the other-uid check is skipped\n");
		return;
	}
	CHECK(!api_server_open(&s, path, handler, NULL));
	chmod(path, 0666);
	pid = fork();
	if (pid == 0) {
		int fd;

		signal(SIGPIPE, SIG_IGN); /* the refusal may come before the request goes */
		if (setuid(65534))
			_exit(3);
		fd = client(path);
		if (fd < 0)
			_exit(4);
		if (write(fd, "{\"command\":\"info\"}\n", 19) < 0 && errno != EPIPE)
			_exit(6);
		_exit(strstr(reply(fd), "permission denied: uid 65534") ? 0 : 5);
	}
	for (int i = 0; i < 10 && !waitpid(pid, &status, WNOHANG); i++)
		serve(&s);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(handled == 3); /* never reached the handler */
	api_server_close(&s);
}

int main(void)
{
	char dir[] = "/tmp/conduit-api-XXXXXX", path[64];

	test_parse();
	test_device_requests();
	test_from_args();
	CHECK(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	test_socket_file(path);
	test_requests(path);
	test_long_line(path);
	test_other_uid(path);
	unlink(path);
	rmdir(dir);
	return CHECK_DONE();
}
