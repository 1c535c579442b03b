#include "vmm/api/request.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const command_names[API_NR_COMMANDS] = {
	[API_INFO] = "info",
	[API_PAUSE] = "pause",
	[API_RESUME] = "resume",
	[API_POWER_BUTTON] = "power-button",
	[API_EVENTS] = "events",
	[API_COUNTERS] = "counters",
	[API_ADD_DEVICE] = "add-device",
	[API_REMOVE_DEVICE] = "remove-device",
};

#define COMMAND_LIST                                                                               \
	"info, pause, resume, power-button, events, counters, add-device, remove-device"

const char *api_command_name(enum api_command c)
{
	return c < API_NR_COMMANDS ? command_names[c] : "?";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int command_lookup(const char *name, enum api_command *c)
{
	for (unsigned int i = 0; i < API_NR_COMMANDS; i++) {
		if (!strcmp(name, command_names[i])) {
			*c = (enum api_command)i;
			return 0;
		}
	}
	return -1;
}

/* A string member as C text: no NUL inside, at most max bytes. */
static const char *plain_string(json_object *v, size_t max)
{
	const char *str;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	str = json_object_get_string(v);
	return strlen(str) == (size_t)json_object_get_string_len(v) && strlen(str) <= max ? str
											  : NULL;
}

/* remove-device's "id". */
static int request_id(json_object *v, struct api_request *req, char *err, size_t errlen)
{
	const char *id = plain_string(v, API_ID_LEN - 1);

	if (!id || !*id)
		return fail(err, errlen, "\"id\" must be a device id string as info lists it");
	memcpy(req->id, id, strlen(id) + 1);
	return 0;
}

/* add-device's "args": conduit run's options for one device, as separate words. */
static int request_args(json_object *v, struct api_request *req, char *err, size_t errlen)
{
	size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;

	if (n < 1 || n > API_MAX_ARGS)
		return fail(err, errlen,
			    "\"args\" must be an array of 1 to %d strings, such as "
			    "[\"--disk\", \"path=FILE\"]",
			    API_MAX_ARGS);
	for (size_t i = 0; i < n; i++) {
		const char *a = plain_string(json_object_array_get_idx(v, i), API_MAX_ARG_LEN);

		if (!a)
			return fail(err, errlen,
				    "\"args\"[%zu] is not a string of at most %d bytes", i,
				    API_MAX_ARG_LEN);
		req->args[req->nr_args] = strdup(a);
		if (!req->args[req->nr_args++])
			return fail(err, errlen, "out of memory");
	}
	return 0;
}

/* The argument a command takes (add-device: args, remove-device: id), or none. */
static const char *command_argument(enum api_command c)
{
	return c == API_ADD_DEVICE ? "args" : c == API_REMOVE_DEVICE ? "id" : NULL;
}

static int request_member(const char *key, json_object *val, struct api_request *req, char *err,
			  size_t errlen)
{
	const char *want = command_argument(req->command);

	if (!strcmp(key, "command"))
		return 0;
	if (!want || strcmp(key, want))
		return fail(err, errlen, "command '%s' takes no argument '%.64s'%s%s",
			    api_command_name(req->command), key, want ? ": it takes " : "",
			    want ? want : "");
	return req->command == API_ADD_DEVICE ? request_args(val, req, err, errlen)
					      : request_id(val, req, err, errlen);
}

/* The members of a request object: "command", and the one argument it takes. */
static int request_fields(json_object *o, struct api_request *req, char *err, size_t errlen)
{
	const char *want, *name;
	json_object *cmd;

	name = json_object_object_get_ex(o, "command", &cmd) ? plain_string(cmd, 64) : NULL;
	if (!name)
		return fail(err, errlen,
			    "the request has no \"command\" string: send "
			    "{\"command\": \"info\"} and the like");
	if (command_lookup(name, &req->command))
		return fail(err, errlen, "unknown command '%.64s': use one of " COMMAND_LIST, name);
	json_object_object_foreach(o, key, val)
	{
		if (request_member(key, val, req, err, errlen))
			return -1;
	}
	want = command_argument(req->command);
	if (want && !json_object_object_get_ex(o, want, NULL))
		return fail(err, errlen, "command '%s' needs \"%s\"", name, want);
	return 0;
}

int api_request_parse(const char *line, size_t len, struct api_request *req, char *err,
		      size_t errlen)
{
	json_tokener *tok;
	json_object *o;
	int ret;

	*req = (struct api_request){0};
	if (len >= API_MAX_LINE)
		return fail(err, errlen, "the request is longer than %d bytes", API_MAX_LINE - 1);
	tok = json_tokener_new();
	if (!tok)
		return fail(err, errlen, "out of memory");
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_parse_end(tok) != len) {
		ret = fail(err, errlen, "the request is not one JSON object: %s",
			   o ? "something follows it"
			     : json_tokener_error_desc(json_tokener_get_error(tok)));
	} else if (!json_object_is_type(o, json_type_object)) {
		ret = fail(err, errlen, "the request is not a JSON object");
	} else {
		ret = request_fields(o, req, err, errlen);
	}
	json_object_put(o);
	json_tokener_free(tok);
	if (ret)
		api_request_free(req);
	return ret;
}

void api_request_free(struct api_request *req)
{
	for (unsigned int i = 0; i < req->nr_args; i++)
		free(req->args[i]);
	req->nr_args = 0;
}

/* The request's argument from the words after the command: add-device's options
 * (one device's), remove-device's id; other commands take none. */
static int args_member(json_object *o, enum api_command c, int argc, char **argv, char *err,
		       size_t errlen)
{
	json_object *args;

	if (c == API_REMOVE_DEVICE && argc != 1)
		return fail(err, errlen, "remove-device takes one device id (see info)");
	if (c == API_ADD_DEVICE && (argc < 1 || argc > API_MAX_ARGS))
		return fail(err, errlen,
			    "add-device takes one device's options, as conduit run "
			    "has them: add-device --disk path=FILE[,bus=PORT]");
	if (c != API_ADD_DEVICE && c != API_REMOVE_DEVICE && argc)
		return fail(err, errlen, "command '%s' takes no argument ('%s')",
			    api_command_name(c), argv[0]);
	if (c == API_REMOVE_DEVICE)
		json_object_object_add(o, "id", json_object_new_string(argv[0]));
	if (c != API_ADD_DEVICE)
		return 0;
	args = json_object_new_array();
	for (int i = 0; i < argc; i++)
		json_object_array_add(args, json_object_new_string(argv[i]));
	json_object_object_add(o, "args", args);
	return 0;
}

char *api_request_from_args(int argc, char **argv, char *err, size_t errlen)
{
	enum api_command c;
	json_object *o;
	char *line = NULL;

	if (argc < 1) {
		fail(err, errlen, "no command given: use one of " COMMAND_LIST);
		return NULL;
	}
	if (command_lookup(argv[0], &c)) {
		fail(err, errlen, "unknown command '%s': use one of " COMMAND_LIST, argv[0]);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "command", json_object_new_string(argv[0]));
	if (!args_member(o, c, argc - 1, argv + 1, err, errlen)) {
		line = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		if (!line)
			fail(err, errlen, "out of memory");
	}
	json_object_put(o);
	return line;
}
