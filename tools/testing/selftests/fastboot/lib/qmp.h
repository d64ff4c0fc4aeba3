/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal QMP client over a unix socket, for the nested tests and
 * benchmarks that run a QEMU inside the test guest (lib/l2vm.h): connect,
 * negotiate capabilities, run one command at a time and collect events.
 * QEMU writes one JSON object per line; the little JSON picking done here
 * is strstr-level, which is enough for the replies the callers read.
 */
#ifndef FASTBOOT_QMP_H
#define FASTBOOT_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line (reply or event) kept; longer ones fail with -EMSGSIZE. */
#define QMP_LINE_MAX	16384
/* Events kept while waiting for a reply or for another event. */
#define QMP_MAX_EVENTS	64

struct qmp {
	int fd;				/* -1: not connected */
	char in[QMP_LINE_MAX];		/* bytes read, not yet a whole line */
	size_t in_len;
	char *events[QMP_MAX_EVENTS];	/* queued event lines, oldest first */
	int nr_events;
	int dropped;			/* events lost to a full queue */
};

/* A struct qmp that is not connected (qmp_close() on it is a no-op). */
void qmp_init(struct qmp *q);

/*
 * Connect to the QMP socket at @path, retrying every 5 ms until it exists
 * and accepts (a QEMU just started creates it during its start), read the
 * greeting and send qmp_capabilities.  @alive, if not NULL, is called
 * between attempts: a false return stops the retries with -ECHILD.
 * 0, -ETIMEDOUT after @timeout_ms, or -errno.
 */
int qmp_connect(struct qmp *q, const char *path, int timeout_ms,
		bool (*alive)(void *arg), void *arg);

/* Close the socket and drop the queued events.  Idempotent. */
void qmp_close(struct qmp *q);

/*
 * Send @cmd_json (one JSON object, no newline) and wait for its reply,
 * stored NUL-terminated without the newline in @reply.  Events read
 * meanwhile are queued for qmp_wait_event().  0 (the reply may be an
 * error: qmp_reply_ok()), -ETIMEDOUT, -EPIPE if QEMU closed the socket
 * (as after "quit"), -EMSGSIZE, or -errno.
 */
int qmp_execute(struct qmp *q, const char *cmd_json, char *reply, size_t len,
		int timeout_ms);

/*
 * Wait for event @name (queued ones first, which are consumed up to and
 * including it; other events stay queued).  The whole event line goes to
 * @ev if not NULL.  0, -ETIMEDOUT, -EPIPE, or -errno.
 */
int qmp_wait_event(struct qmp *q, const char *name, char *ev, size_t len,
		   int timeout_ms);

/* Whether event @name is queued (reads what is pending first, no wait). */
bool qmp_event_seen(struct qmp *q, const char *name);

/* {"return": ...} / {"error": ...} at the top level of @reply. */
bool qmp_reply_ok(const char *reply);
bool qmp_reply_error(const char *reply);

/*
 * The integer value of the first member "@key" in @json (no nesting
 * awareness: the keys the callers read are unique in their replies).
 * 0, -ENOENT, or -EINVAL if it is not a number.
 */
int qmp_json_int(const char *json, const char *key, int64_t *val);

/* The same for a string value, copied unescaped-as-is into @buf. */
int qmp_json_str(const char *json, const char *key, char *buf, size_t len);

/* Whether @key is a member of the top-level object of @json. */
bool qmp_json_top_key(const char *json, const char *key);

#endif /* FASTBOOT_QMP_H */
