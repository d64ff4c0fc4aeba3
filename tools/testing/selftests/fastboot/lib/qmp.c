// SPDX-License-Identifier: GPL-2.0
/* A minimal QMP client over a unix socket.  See qmp.h. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "qmp.h"

#define QMP_RETRY_US	5000

static long long qmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void qmp_init(struct qmp *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

void qmp_close(struct qmp *q)
{
	int i;

	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->in_len = 0;
	for (i = 0; i < q->nr_events; i++)
		free(q->events[i]);
	q->nr_events = 0;
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

bool qmp_json_top_key(const char *json, const char *key)
{
	size_t klen = strlen(key);
	bool want_key = false;
	const char *p, *s, *e;
	int depth = 0;

	for (p = json; *p; p++) {
		switch (*p) {
		case '"':
			s = p + 1;
			for (e = s; *e && *e != '"'; e++)
				if (*e == '\\' && e[1])
					e++;
			if (!*e)
				return false;
			if (depth == 1 && want_key && (size_t)(e - s) == klen &&
			    !strncmp(s, key, klen))
				return true;
			want_key = false;
			p = e;
			break;
		case '{':
			depth++;
			want_key = depth == 1;
			break;
		case '[':
			depth++;
			want_key = false;
			break;
		case '}':
		case ']':
			depth--;
			want_key = false;
			break;
		case ',':
			want_key = depth == 1;
			break;
		}
	}
	return false;
}

bool qmp_reply_ok(const char *reply)
{
	return qmp_json_top_key(reply, "return");
}

bool qmp_reply_error(const char *reply)
{
	return qmp_json_top_key(reply, "error");
}

/* Where the value of the first "@key" member starts, or NULL. */
static const char *json_value(const char *json, const char *key)
{
	char pat[128];
	const char *p;

	if (snprintf(pat, sizeof(pat), "\"%s\"", key) >= (int)sizeof(pat))
		return NULL;
	for (p = strstr(json, pat); p; p = strstr(p + 1, pat)) {
		const char *v = skip_space(p + strlen(pat));

		if (*v == ':')
			return skip_space(v + 1);
	}
	return NULL;
}

int qmp_json_int(const char *json, const char *key, int64_t *val)
{
	const char *p = json_value(json, key);
	char *end;

	if (!p)
		return -ENOENT;
	errno = 0;
	*val = strtoll(p, &end, 10);
	if (end == p || errno)
		return -EINVAL;
	return 0;
}

int qmp_json_str(const char *json, const char *key, char *buf, size_t len)
{
	const char *p = json_value(json, key);
	size_t n = 0;

	if (!p)
		return -ENOENT;
	if (*p++ != '"' || !len)
		return -EINVAL;
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 < len)
			buf[n++] = *p;
	}
	buf[n] = '\0';
	return *p == '"' ? 0 : -EINVAL;
}

/*
 * The next line from QEMU into @line (NUL-terminated, no "\r\n").
 * 0, -ETIMEDOUT once @deadline (qmp_now_ms()) passed, -EPIPE at the end of
 * the stream, -EMSGSIZE for a line longer than QMP_LINE_MAX (dropped).
 */
static int next_line(struct qmp *q, char *line, long long deadline)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	char *nl;
	size_t n;
	ssize_t r;
	int left;

	if (q->fd < 0)
		return -ENOTCONN;
	for (;;) {
		nl = memchr(q->in, '\n', q->in_len);
		if (nl) {
			n = nl - q->in;
			memcpy(line, q->in, n);
			line[n] = '\0';
			if (n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			q->in_len -= n + 1;
			memmove(q->in, nl + 1, q->in_len);
			return 0;
		}
		if (q->in_len == sizeof(q->in)) {
			q->in_len = 0;
			return -EMSGSIZE;
		}
		left = (int)(deadline - qmp_now_ms());
		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!r)
			return -ETIMEDOUT;
		r = read(q->fd, q->in + q->in_len, sizeof(q->in) - q->in_len);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!r)
			return -EPIPE;
		q->in_len += r;
	}
}

static void queue_event(struct qmp *q, const char *line)
{
	char *copy = strdup(line);

	if (!copy)
		return;
	if (q->nr_events == QMP_MAX_EVENTS) {
		free(q->events[0]);
		memmove(q->events, q->events + 1,
			(QMP_MAX_EVENTS - 1) * sizeof(q->events[0]));
		q->nr_events--;
		q->dropped++;
	}
	q->events[q->nr_events++] = copy;
}

static int send_all(int fd, const char *buf, size_t len)
{
	ssize_t r;

	while (len) {
		r = send(fd, buf, len, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE || errno == ECONNRESET ? -EPIPE :
								      -errno;
		}
		buf += r;
		len -= r;
	}
	return 0;
}

int qmp_execute(struct qmp *q, const char *cmd_json, char *reply, size_t len,
		int timeout_ms)
{
	long long deadline = qmp_now_ms() + timeout_ms;
	static char line[QMP_LINE_MAX];
	int ret;

	if (q->fd < 0)
		return -ENOTCONN;
	ret = send_all(q->fd, cmd_json, strlen(cmd_json));
	if (!ret)
		ret = send_all(q->fd, "\n", 1);
	if (ret)
		return ret;
	for (;;) {
		ret = next_line(q, line, deadline);
		if (ret)
			return ret;
		if (qmp_json_top_key(line, "event")) {
			queue_event(q, line);
			continue;
		}
		if (!qmp_reply_ok(line) && !qmp_reply_error(line))
			continue;	/* the greeting, or anything else */
		if (snprintf(reply, len, "%s", line) >= (int)len)
			return -EMSGSIZE;
		return 0;
	}
}

static bool is_event(const char *line, const char *name)
{
	char ev[128];

	return !qmp_json_str(line, "event", ev, sizeof(ev)) &&
	       !strcmp(ev, name);
}

/* Take queued event @name out of the queue into @ev.  Whether it was there. */
static bool take_event(struct qmp *q, const char *name, char *ev, size_t len)
{
	int i;

	for (i = 0; i < q->nr_events; i++) {
		if (!is_event(q->events[i], name))
			continue;
		if (ev && len)
			snprintf(ev, len, "%s", q->events[i]);
		free(q->events[i]);
		memmove(q->events + i, q->events + i + 1,
			(q->nr_events - i - 1) * sizeof(q->events[0]));
		q->nr_events--;
		return true;
	}
	return false;
}

/*
 * Read one line from QEMU by @deadline and queue it if it is an event;
 * an overlong line is dropped.  0 or next_line()'s error.
 */
static int pump(struct qmp *q, long long deadline)
{
	static char line[QMP_LINE_MAX];
	int ret;

	ret = next_line(q, line, deadline);
	if (ret == -EMSGSIZE)
		return 0;
	if (!ret && qmp_json_top_key(line, "event"))
		queue_event(q, line);
	return ret;
}

bool qmp_event_seen(struct qmp *q, const char *name)
{
	int i;

	/* Queue every whole line QEMU has sent so far, without waiting. */
	while (q->fd >= 0 && !pump(q, 0))
		;
	for (i = 0; i < q->nr_events; i++)
		if (is_event(q->events[i], name))
			return true;
	return false;
}

int qmp_wait_event(struct qmp *q, const char *name, char *ev, size_t len,
		   int timeout_ms)
{
	long long deadline = qmp_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		if (take_event(q, name, ev, len))
			return 0;
		if (q->fd < 0)
			return -ENOTCONN;
		ret = pump(q, deadline);
		if (ret)
			return ret;
	}
}

int qmp_connect(struct qmp *q, const char *path, int timeout_ms,
		bool (*alive)(void *arg), void *arg)
{
	long long deadline = qmp_now_ms() + timeout_ms;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char line[QMP_LINE_MAX];
	char reply[1024];
	int fd, ret;

	qmp_close(q);
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		ret = -errno;
		close(fd);
		if (ret != -ENOENT && ret != -ECONNREFUSED)
			return ret;
		if (alive && !alive(arg))
			return -ECHILD;
		if (qmp_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(QMP_RETRY_US);
	}
	q->fd = fd;
	/* The greeting: {"QMP": {"version": ..., "capabilities": [...]}} */
	do {
		ret = next_line(q, line, deadline);
		if (ret)
			goto fail;
	} while (!qmp_json_top_key(line, "QMP"));
	ret = qmp_execute(q, "{\"execute\": \"qmp_capabilities\"}", reply,
			  sizeof(reply), (int)(deadline - qmp_now_ms()) > 0 ?
			  (int)(deadline - qmp_now_ms()) : 1);
	if (ret)
		goto fail;
	if (!qmp_reply_ok(reply)) {
		ret = -EPROTO;
		goto fail;
	}
	return 0;
fail:
	qmp_close(q);
	return ret;
}
