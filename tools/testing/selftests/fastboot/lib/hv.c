// SPDX-License-Identifier: GPL-2.0
/*
 * Request/response channel to the hypervisor-side test harness over a
 * serial port: one QMP command per line out, one reply line back.  See hv.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "hv.h"
#include "sysfs.h"

static bool cmdline_has(const char *token)
{
	char buf[4096], *tok, *save;

	if (sysfs_read_str("/proc/cmdline", buf, sizeof(buf)))
		return false;
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (!strcmp(tok, token))
			return true;
	}
	return false;
}

bool hv_available(void)
{
	struct stat st;

	return !stat(HV_TTY, &st) && S_ISCHR(st.st_mode) &&
	       cmdline_has(HV_CMDLINE_TOKEN);
}

static int tty_open_raw(void)
{
	struct termios tio;
	int fd, ret;

	fd = open(HV_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &tio))
		goto err;
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	cfsetispeed(&tio, B115200);
	cfsetospeed(&tio, B115200);
	if (tcsetattr(fd, TCSANOW, &tio))
		goto err;
	/* Drop anything left over, e.g. a late reply to a timed-out request. */
	tcflush(fd, TCIFLUSH);
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return tcdrain(fd) ? -errno : 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* A line that is not the reply to our command: greeting or event. */
static bool not_a_reply(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	if (!*line)
		return true;
	if (!strncmp(line, "{\"QMP\"", 6))
		return true;
	return strstr(line, "\"event\"") && !strstr(line, "\"return\"") &&
	       !strstr(line, "\"error\"");
}

/*
 * Read one line into @reply (at most @len - 1 characters are kept).
 * 0, -EMSGSIZE if it was longer, or -errno.
 */
static int read_line(int fd, char *reply, size_t len, long deadline)
{
	size_t used = 0;
	bool overflow = false;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		char c;
		ssize_t n;
		int ret;

		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, left);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!ret)
			return -ETIMEDOUT;
		n = read(fd, &c, 1);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			continue;
		if (c == '\n')
			break;
		if (c == '\r')
			continue;
		if (used + 1 < len)
			reply[used++] = c;
		else
			overflow = true;
	}
	reply[used] = '\0';
	return overflow ? -EMSGSIZE : 0;
}

int hv_qmp(const char *cmd_json, char *reply, size_t len)
{
	long deadline;
	int fd, ret;

	if (!len || strchr(cmd_json, '\n'))
		return -EINVAL;
	fd = tty_open_raw();
	if (fd < 0)
		return fd;

	ret = write_all(fd, cmd_json, strlen(cmd_json));
	if (!ret)
		ret = write_all(fd, "\n", 1);

	deadline = now_ms() + HV_TIMEOUT_MS;
	while (!ret) {
		ret = read_line(fd, reply, len, deadline);
		if (ret || !not_a_reply(reply))
			break;
	}
	close(fd);
	if (ret)
		reply[0] = '\0';
	return ret;
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

bool hv_reply_ok(const char *reply)
{
	const char *p = skip_space(reply);

	return *p == '{' && !strncmp(skip_space(p + 1), "\"return\"", 8);
}

bool hv_reply_error(const char *reply)
{
	const char *p = skip_space(reply);

	return *p == '{' && !strncmp(skip_space(p + 1), "\"error\"", 7);
}

int hv_json_int(const char *json, const char *key, int64_t *val)
{
	char pat[128];
	const char *p;
	char *end;

	if (snprintf(pat, sizeof(pat), "\"%s\"", key) >= (int)sizeof(pat))
		return -EINVAL;
	p = strstr(json, pat);
	if (!p)
		return -ENOENT;
	p = skip_space(p + strlen(pat));
	if (*p != ':')
		return -EINVAL;
	p = skip_space(p + 1);
	errno = 0;
	*val = strtoll(p, &end, 10);
	if (end == p || errno)
		return -EINVAL;
	return 0;
}
