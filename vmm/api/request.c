#include "vmm/api/request.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const command_names[API_NR_COMMANDS] = {
	[API_INFO] = "info",	 [API_PAUSE] = "pause",
	[API_RESUME] = "resume", [API_POWER_BUTTON] = "power-button",
	[API_EVENTS] = "events", [API_COUNTERS] = "counters",
};

#define COMMAND_LIST "info, pause, resume, power-button, events, counters"

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

/* The members of a request object: "command" and nothing else yet. */
static int request_fields(json_object *o, struct api_request *req, char *err, size_t errlen)
{
	json_object *cmd;
	const char *name;

	if (!json_object_object_get_ex(o, "command", &cmd) ||
	    !json_object_is_type(cmd, json_type_string))
		return fail(err, errlen,
			    "the request has no \"command\" string: send "
			    "{\"command\": \"info\"} and the like");
	name = json_object_get_string(cmd);
	if (strlen(name) != (size_t)json_object_get_string_len(cmd) ||
	    command_lookup(name, &req->command))
		return fail(err, errlen, "unknown command '%.64s': use one of " COMMAND_LIST, name);
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		if (strcmp(key, "command"))
			return fail(err, errlen, "command '%s' takes no argument '%.64s'", name,
				    key);
	}
	return 0;
}

int api_request_parse(const char *line, size_t len, struct api_request *req, char *err,
		      size_t errlen)
{
	json_tokener *tok;
	json_object *o;
	int ret;

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
	return ret;
}

char *api_request_from_args(int argc, char **argv, char *err, size_t errlen)
{
	enum api_command c;
	json_object *o;
	char *line;

	if (argc < 1) {
		fail(err, errlen, "no command given: use one of " COMMAND_LIST);
		return NULL;
	}
	if (command_lookup(argv[0], &c)) {
		fail(err, errlen, "unknown command '%s': use one of " COMMAND_LIST, argv[0]);
		return NULL;
	}
	if (argc > 1) {
		fail(err, errlen, "command '%s' takes no argument ('%s')", argv[0], argv[1]);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "command", json_object_new_string(argv[0]));
	line = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!line)
		fail(err, errlen, "out of memory");
	return line;
}
