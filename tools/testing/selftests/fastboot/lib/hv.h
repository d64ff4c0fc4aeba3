/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Request/response channel from the guest to the hypervisor-side test
 * harness: a serial port (/dev/ttyS2) on which the harness takes one QMP
 * command (JSON) per line and answers each with exactly one line, the QMP
 * reply.  Plus the little JSON picking the tests need from the replies.
 */
#ifndef FASTBOOT_HV_H
#define FASTBOOT_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef HV_TTY
#define HV_TTY			"/dev/ttyS2"
#endif
/* The harness announces the channel on the kernel command line. */
#define HV_CMDLINE_TOKEN	"fastboot.hv=ttyS2"
/* Per reply; QEMU answers at once, but TCG guests can be slow to read. */
#define HV_TIMEOUT_MS		30000

/* Whether HV_TTY exists and the command line names it as the channel. */
bool hv_available(void);

/*
 * Send @cmd_json (one line, no newline) and wait for the reply line, stored
 * NUL-terminated without its newline in @reply.  Lines the harness passes
 * on that are QMP events, not replies, are skipped.  0 or -errno
 * (-ETIMEDOUT, -EMSGSIZE if the reply does not fit).
 */
int hv_qmp(const char *cmd_json, char *reply, size_t len);

/* The reply is {"return": ...} / {"error": ...}. */
bool hv_reply_ok(const char *reply);
bool hv_reply_error(const char *reply);

/*
 * Integer value of the first "@key": member in @json (no nesting awareness:
 * keys are unique in the replies the tests read).  0 or -ENOENT/-EINVAL.
 */
int hv_json_int(const char *json, const char *key, int64_t *val);

#endif /* FASTBOOT_HV_H */
