/* Small json-c helpers shared by the JSON replies (vm_api.c, conduit sriov --json). */
#ifndef CONDUIT_VMM_API_JSON_H
#define CONDUIT_VMM_API_JSON_H

#include <json-c/json.h>

/* A string, or null for none (NULL or empty). */
static inline json_object *json_str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

#endif
