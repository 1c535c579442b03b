/*
 * `conduit ctl [--json] PATH COMMAND [ARGS]`: sends one request to the conduit serving
 * PATH and prints its reply, as a table or (--json) as the reply's JSON value; after
 * `events`, every event until the VM ends. An error reply is one line on stderr and
 * status 1.
 */
#include "vmm/ctl_cmd.h"
#include "vmm/api/request.h"
#include "vmm/base/log.h"
#include "vmm/vm_exit.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void ctl_usage(FILE *out)
{
	fputs("usage: conduit ctl [--json] PATH COMMAND [ARGS]\n"
	      "Talks to the conduit started with --api-socket PATH.\n"
	      "commands:\n"
	      "  info           state, vCPUs, memory, and each device: its id, kind, guest\n"
	      "                 and host PCI addresses, port and NUMA nodes\n"
	      "  pause          stop the vCPUs (the guest's clock stands still)\n"
	      "  resume         start them again\n"
	      "  power-button   press the ACPI power button (the guest shuts down cleanly)\n"
	      "  counters       each vCPU's exits, by reason; each device's work: kicks,\n"
	      "                 requests, interrupts and bytes of a virtio device served\n"
	      "                 by conduit, the host's interrupts of an assigned function\n"
	      "  add-device --disk|--net|--rng|--vfio SPEC\n"
	      "                 a device as conduit run takes it, on the port its bus= names\n"
	      "                 or the first free one with a hot-plug slot\n"
	      "  remove-device ID\n"
	      "                 asks the guest to let the device go (PCIe attention button);\n"
	      "                 it leaves once the guest has powered its slot off\n"
	      "  events         print events (device-added, device-removed, paused, resumed,\n"
	      "                 guest-powered-off, guest-reset, guest-crashed, vm-stopped)\n"
	      "                 until the VM ends\n"
	      "  --json         print the reply's JSON instead of a table\n",
	      out);
}

static const char *const connect_hints[] = {
	[ENOENT] = "no such socket: is conduit running with --api-socket PATH?",
	[ECONNREFUSED] = "nobody serves it: the conduit that made it has ended",
	[EACCES] = "permission denied: run as conduit's user or root",
};

static FILE *ctl_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, err;
	FILE *f;

	if (strlen(path) >= sizeof(a.sun_path)) {
		log_error("'%s' is too long for a socket path (at most %zu characters)", path,
			  sizeof(a.sun_path) - 1);
		return NULL;
	}
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = errno;
		if (fd >= 0)
			close(fd);
		log_error("cannot connect to %s: %s", path,
			  err < (int)(sizeof(connect_hints) / sizeof(connect_hints[0])) &&
					  connect_hints[err]
				  ? connect_hints[err]
				  : strerror(err));
		return NULL;
	}
	f = fdopen(fd, "r+");
	if (!f)
		close(fd);
	return f;
}

/* One line from the server, parsed; NULL at EOF (message logged unless quiet). */
static json_object *ctl_read(FILE *f, const char *path, bool quiet)
{
	char *line = NULL;
	size_t cap = 0;
	json_object *o;

	if (getline(&line, &cap, f) < 0) {
		free(line);
		if (!quiet)
			log_error("%s closed the connection without a reply", path);
		return NULL;
	}
	o = json_tokener_parse(line);
	free(line);
	if (!o)
		log_error("%s sent a line that is not JSON", path);
	return o;
}

static const char *str_or_dash(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static void print_device_header(void)
{
	printf("%-8s %-11s %-13s %-13s %-10s %-9s %s\n", "ID", "KIND", "GUEST BDF", "HOST BDF",
	       "PORT", "HOST NODE", "GUEST NODE");
}

static void print_device(json_object *d)
{
	json_object *v;

	printf("%-8s %-11s %-13s %-13s %-10s %-9s %s%s\n", str_or_dash(d, "id"),
	       str_or_dash(d, "kind"), str_or_dash(d, "guest_bdf"), str_or_dash(d, "host_bdf"),
	       str_or_dash(d, "port"), str_or_dash(d, "host_numa_node"),
	       str_or_dash(d, "guest_numa_node"),
	       json_object_object_get_ex(d, "removing", &v) && json_object_get_boolean(v)
		       ? "  (removing)"
		       : "");
}

static void print_info(json_object *r)
{
	json_object *devs;

	printf("state   %s\n", str_or_dash(r, "state"));
	printf("vcpus   %s\n", str_or_dash(r, "vcpus"));
	printf("memory  %s bytes\n", str_or_dash(r, "memory_bytes"));
	if (!json_object_object_get_ex(r, "devices", &devs))
		return;
	print_device_header();
	for (size_t i = 0; i < json_object_array_length(devs); i++)
		print_device(json_object_array_get_idx(devs, i));
}

static void print_vcpu_counters(json_object *v)
{
	json_object *by;

	printf("vcpu%s exits %s", str_or_dash(v, "vcpu"), str_or_dash(v, "exits"));
	if (json_object_object_get_ex(v, "exits_by_reason", &by)) {
		json_object_object_foreach(by, key, val)
			printf(" %s=%s", key, json_object_get_string(val));
	}
	putchar('\n');
}

/* id, kind, then whatever the device counts */
static void print_device_counters(json_object *d)
{
	printf("%-8s %-11s", str_or_dash(d, "id"), str_or_dash(d, "kind"));
	json_object_object_foreach(d, key, val) if (strcmp(key, "id") && strcmp(key, "kind"))
		printf(" %s=%s", key, json_object_get_string(val));
	putchar('\n');
}

static void print_counters(json_object *r)
{
	json_object *a;

	if (json_object_object_get_ex(r, "vcpus", &a))
		for (size_t i = 0; i < json_object_array_length(a); i++)
			print_vcpu_counters(json_object_array_get_idx(a, i));
	if (json_object_object_get_ex(r, "devices", &a))
		for (size_t i = 0; i < json_object_array_length(a); i++)
			print_device_counters(json_object_array_get_idx(a, i));
}

static void print_reply(const char *command, json_object *r)
{
	json_object *v;

	if (!strcmp(command, "info")) {
		print_info(r);
	} else if (!strcmp(command, "add-device")) {
		print_device_header();
		print_device(r);
	} else if (!strcmp(command, "remove-device")) {
		printf("%s %s\n", str_or_dash(r, "id"), str_or_dash(r, "state"));
	} else if (!strcmp(command, "counters"))
		print_counters(r);
	else if (json_object_object_get_ex(r, "state", &v))
		printf("state   %s\n", json_object_get_string(v));
	if (!strcmp(command, "power-button") && json_object_object_get_ex(r, "guest_enabled", &v) &&
	    !json_object_get_boolean(v))
		log_warn("pressed, but the guest has not enabled its power button (no ACPI "
			 "button driver yet?): it may not react");
}

static void print_event(json_object *e, bool json)
{
	json_object *ts, *sec, *data;
	char when[32] = "-";
	time_t t;

	if (json) {
		puts(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	} else {
		if (json_object_object_get_ex(e, "timestamp", &ts) &&
		    json_object_object_get_ex(ts, "seconds", &sec)) {
			t = (time_t)json_object_get_int64(sec);
			strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
		}
		printf("%s %s", when, str_or_dash(e, "event"));
		if (json_object_object_get_ex(e, "data", &data)) {
			json_object_object_foreach(data, key, val)
				printf(" %s=%s", key, json_object_get_string(val));
		}
		putchar('\n');
	}
	fflush(stdout);
}

static int ctl_events(FILE *f, const char *path, bool json)
{
	json_object *e;

	while ((e = ctl_read(f, path, true))) {
		print_event(e, json);
		json_object_put(e);
	}
	return 0;
}

/* The reply: its value printed, or its error logged (status 1). */
static int ctl_reply(json_object *reply, const char *command, bool json)
{
	json_object *v;

	if (json_object_object_get_ex(reply, "error", &v)) {
		log_error("%s", json_object_get_string(v));
		return EXIT_BAD_INPUT;
	}
	if (!json_object_object_get_ex(reply, "return", &v)) {
		log_error("the reply has neither \"return\" nor \"error\"");
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(command, "events"))
		return 0; /* the events follow */
	if (json)
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY));
	else
		print_reply(command, v);
	return 0;
}

/* Drops --json (anywhere) from argv; true if it was there. */
static bool take_json_flag(int *argc, char **argv)
{
	bool json = false;
	int n = 0;

	for (int i = 0; i < *argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
	return json;
}

int ctl_cmd(int argc, char **argv)
{
	bool json = take_json_flag(&argc, argv);
	json_object *reply;
	char err[256], *req;
	FILE *f;
	int ret;

	/* a refused connection may be closed before the request is written: its error
	 * reply is still there to read */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		ctl_usage(stdout);
		return 0;
	}
	if (argc < 3) {
		log_error("give the socket and a command: conduit ctl PATH info (see --help)");
		return EXIT_BAD_INPUT;
	}
	req = api_request_from_args(argc - 2, argv + 2, err, sizeof(err));
	if (!req) {
		log_error("%s (see conduit ctl --help)", err);
		return EXIT_BAD_INPUT;
	}
	f = ctl_connect(argv[1]);
	if (f && fprintf(f, "%s\n", req) > 0 && !fflush(f) &&
	    (reply = ctl_read(f, argv[1], false))) {
		ret = ctl_reply(reply, argv[2], json);
		json_object_put(reply);
		if (!ret && !strcmp(argv[2], "events"))
			ret = ctl_events(f, argv[1], json);
	} else {
		ret = EXIT_BAD_INPUT;
	}
	if (f)
		fclose(f);
	free(req);
	return ret;
}
