#include "sriov/journal.h"
#include "sriov/bind.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_LEN 256

static int parse_vf_key(const char *kv, struct vf_link_change *c)
{
	unsigned int m[6], a, b;
	char tail;

	if (sscanf(kv, "mac=%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &tail) == 6) {
		for (int i = 0; i < 6; i++)
			c->mac[i] = (uint8_t)m[i];
		c->set_mac = true;
	} else if (sscanf(kv, "vlan=%u,%u%c", &a, &b, &tail) == 2) {
		c->set_vlan = true;
		c->vlan = a;
		c->qos = b;
	} else if (sscanf(kv, "spoofchk=%u%c", &a, &tail) == 1 && a <= 1) {
		c->set_spoofchk = true;
		c->spoofchk = a;
	} else if (sscanf(kv, "trust=%u%c", &a, &tail) == 1 && a <= 1) {
		c->set_trust = true;
		c->trust = a;
	} else if (sscanf(kv, "rate=%u:%u%c", &a, &b, &tail) == 2) {
		c->set_rate = true;
		c->min_rate = a;
		c->max_rate = b;
	} else if (sscanf(kv, "link=%u%c", &a, &tail) == 1 && a <= VF_LINK_OFF) {
		c->set_link = true;
		c->link_state = (enum vf_link_state)a;
	} else {
		return -1;
	}
	return 0;
}

static int parse_vf(char *rest, struct journal_step *s)
{
	char *save, *tok = strtok_r(rest, " ", &save);
	char *end;

	if (!tok || snprintf(s->ifname, sizeof(s->ifname), "%s", tok) >= (int)sizeof(s->ifname))
		return -1;
	tok = strtok_r(NULL, " ", &save);
	if (!tok)
		return -1;
	s->vf = (unsigned int)strtoul(tok, &end, 10);
	if (*end)
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)))
		if (parse_vf_key(tok, &s->old))
			return -1;
	return 0;
}

int journal_parse(const char *line, struct journal_step *s)
{
	char buf[LINE_MAX_LEN], word[16], a[64], b[64], o[64], tail;
	int pid;

	*s = (struct journal_step){0};
	if (snprintf(buf, sizeof(buf), "%s", line) >= (int)sizeof(buf))
		return -1;
	if (sscanf(buf, "conduit %d%c", &pid, &tail) == 1 && pid > 0) {
		s->kind = JOURNAL_OWNER;
		s->pid = pid;
		return 0;
	}
	if (sscanf(buf, "bind %63s %63s %63s%c", a, b, o, &tail) == 3) {
		s->kind = JOURNAL_BIND;
		if (!vfio_bdf_canon(a, s->bdf))
			return -1;
		snprintf(s->driver, sizeof(s->driver), "%s", strcmp(b, "-") ? b : "");
		snprintf(s->override, sizeof(s->override), "%s", strcmp(o, "-") ? o : "");
		return 0;
	}
	if (sscanf(buf, "released %u %u%c", &s->from, &s->to, &tail) == 2 && s->from < s->to) {
		s->kind = JOURNAL_RELEASED;
		return 0;
	}
	if (sscanf(buf, "%15s", word) == 1 && !strcmp(word, "vf")) {
		s->kind = JOURNAL_VF;
		return parse_vf(buf + 3, s);
	}
	return -1;
}

static int format_vf(const struct journal_step *s, char *out, size_t len)
{
	const struct vf_link_change *c = &s->old;
	const uint8_t *m = c->mac;
	int n = snprintf(out, len, "vf %s %u", s->ifname, s->vf);

#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (n >= 0 && (size_t)n < len)                                                     \
			n += snprintf(out + n, len - (size_t)n, __VA_ARGS__);                      \
	} while (0)
	if (c->set_mac)
		ADD(" mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	if (c->set_vlan)
		ADD(" vlan=%u,%u", c->vlan, c->qos);
	if (c->set_spoofchk)
		ADD(" spoofchk=%d", c->spoofchk);
	if (c->set_trust)
		ADD(" trust=%d", c->trust);
	if (c->set_rate)
		ADD(" rate=%u:%u", c->min_rate, c->max_rate);
	if (c->set_link)
		ADD(" link=%d", (int)c->link_state);
	ADD("\n");
#undef ADD
	return n;
}

int journal_format(const struct journal_step *s, char *out, size_t len)
{
	int n;

	switch (s->kind) {
	case JOURNAL_OWNER:
		n = snprintf(out, len, "conduit %d\n", (int)s->pid);
		break;
	case JOURNAL_BIND:
		n = snprintf(out, len, "bind %s %s %s\n", s->bdf, s->driver[0] ? s->driver : "-",
			     s->override[0] ? s->override : "-");
		break;
	case JOURNAL_RELEASED:
		n = snprintf(out, len, "released %u %u\n", s->from, s->to);
		break;
	default:
		n = format_vf(s, out, len);
	}
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int journal_open(const char *root, struct journal *j, char *err, size_t errlen)
{
	struct journal_step owner = {.kind = JOURNAL_OWNER, .pid = getpid()};
	char dir[PATH_MAX], tmp[PATH_MAX];

	j->root = root;
	host_path(dir, sizeof(dir), root, JOURNAL_DIR);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return log_to_buf(err, errlen, "cannot make " JOURNAL_DIR ": %s", strerror(errno));
	/* made and locked under another name, so no recovery ever sees it unlocked */
	host_path(tmp, sizeof(tmp), root, JOURNAL_DIR "/new.%d", (int)getpid());
	host_path(j->path, sizeof(j->path), root, JOURNAL_DIR "/journal.%d", (int)getpid());
	j->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return log_to_buf(err, errlen, "cannot create " JOURNAL_DIR "/new.%d: %s",
				  (int)getpid(), strerror(errno));
	if (flock(j->fd, LOCK_EX | LOCK_NB) || journal_add(j, &owner, err, errlen) ||
	    rename(tmp, j->path)) {
		log_to_buf(err, errlen, "cannot start " JOURNAL_DIR "/journal.%d: %s",
			   (int)getpid(), strerror(errno));
		journal_close(j);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int journal_add(struct journal *j, const struct journal_step *s, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN];
	int n = journal_format(s, line, sizeof(line));

	if (n < 0 || write(j->fd, line, (size_t)n) != n || fdatasync(j->fd))
		return log_to_buf(err, errlen, "cannot write to %s: %s", j->path,
				  n < 0 ? "line too long" : strerror(errno));
	j->steps++;
	return 0;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

static int undo_step(const char *root, const struct journal_step *s)
{
	char err[512];
	int ret = 0;

	if (s->kind == JOURNAL_BIND)
		ret = bind_restore(root, s->bdf, s->driver, s->override, err, sizeof(err));
	else if (s->kind == JOURNAL_VF)
		ret = vf_link_apply(s->ifname, s->vf, &s->old, err, sizeof(err));
	if (ret)
		log_error("undoing what conduit changed: %s", err);
	return ret ? 1 : 0;
}

/* The steps of an open journal file, in order, allocated; how many. A journal grows
 * by a few lines for every function added to and removed from a running guest. */
static unsigned int read_steps(FILE *f, struct journal_step **steps)
{
	char line[LINE_MAX_LEN];
	unsigned int n = 0, max = 0;
	struct journal_step *more;

	*steps = NULL;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (n == max) {
			max = max ? 2 * max : 64;
			more = realloc(*steps, max * sizeof(**steps));
			if (!more)
				break;
			*steps = more;
		}
		if (!journal_parse(line, &(*steps)[n]))
			n++;
		else if (line[0])
			log_warn("journal: skipping a line it cannot read: '%s'", line);
	}
	return n;
}

/* Undoes steps from..to-1 backwards, but those a `released` line says are undone. */
static int undo_steps(const char *root, const struct journal_step *steps, unsigned int n,
		      unsigned int from, unsigned int to)
{
	bool *done = calloc(n ? n : 1, sizeof(*done));
	unsigned int i, k;
	int failed = 0;

	for (i = 0; done && i < n; i++) {
		if (steps[i].kind != JOURNAL_RELEASED)
			continue;
		for (k = steps[i].from; k < steps[i].to && k < n; k++)
			done[k] = true;
	}
	for (i = to < n ? to : n; i-- > from;)
		failed += done && done[i] ? 0 : undo_step(root, &steps[i]);
	free(done);
	return failed;
}

static int replay_file(const char *root, const char *path, FILE *f)
{
	struct journal_step *steps;
	unsigned int n = read_steps(f, &steps);
	int failed = undo_steps(root, steps, n, 0, n);

	free(steps);
	unlink(path);
	return failed;
}

int journal_undo(struct journal *j, unsigned int from, unsigned int to)
{
	struct journal_step released = {.kind = JOURNAL_RELEASED, .from = from, .to = to};
	struct journal_step *steps;
	unsigned int n;
	char err[512];
	int failed;
	FILE *f;

	if (from >= to)
		return 0;
	f = fopen(j->path, "re");
	if (!f) {
		log_error("undoing what conduit changed: cannot read %s: %s", j->path,
			  strerror(errno));
		return (int)(to - from);
	}
	n = read_steps(f, &steps);
	failed = undo_steps(j->root, steps, n, from, to);
	free(steps);
	fclose(f);
	if (journal_add(j, &released, err, sizeof(err)))
		log_error("%s", err);
	return failed;
}

int journal_replay(const char *root, const char *path)
{
	FILE *f = fopen(path, "re");
	int failed;

	if (!f)
		return errno == ENOENT ? 0 : 1;
	failed = replay_file(root, path, f);
	fclose(f);
	return failed;
}

/* A journal nobody locks, still in place once locked (not replayed meanwhile). */
static bool take_stale(const char *path, FILE *f)
{
	struct stat a, b;

	return !flock(fileno(f), LOCK_EX | LOCK_NB) && !fstat(fileno(f), &a) && !stat(path, &b) &&
	       a.st_ino == b.st_ino;
}

static int recover_one(const char *root, const char *path)
{
	FILE *f = fopen(path, "re");
	int replayed = 0;

	if (!f)
		return 0;
	if (take_stale(path, f)) {
		log_info("%s: its conduit is gone; undoing what it changed", path);
		if (replay_file(root, path, f))
			log_error("%s: some steps could not be undone (above)", path);
		replayed = 1;
	}
	fclose(f);
	return replayed;
}

int journal_recover(const char *root)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	int n = 0;
	DIR *d;

	host_path(dir, sizeof(dir), root, JOURNAL_DIR);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "journal.", 8))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n += recover_one(root, path);
	}
	closedir(d);
	return n;
}
