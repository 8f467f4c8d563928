#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "spipe.h"

#define POOL_MAX 64

static int pool[POOL_MAX][2];
static size_t pool_len;

void spipe_init(struct spipe *p)
{
	p->rd = p->wr = -1;
	p->len = 0;
	p->full = false;
	p->carried = 0;
}

void spipe_account(struct spipe *p, size_t n)
{
	p->carried += n;
	if (spipe_active(p) || p->carried < SPIPE_AFTER)
		return;
	int fds[2];
	if (pool_len > 0) {
		pool_len--;
		fds[0] = pool[pool_len][0];
		fds[1] = pool[pool_len][1];
	} else if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
		return; /* out of descriptors: stay with buffers */
	}
	p->rd = fds[0];
	p->wr = fds[1];
}

ssize_t spipe_fill(struct spipe *p, int fd)
{
	ssize_t n =
	    splice(fd, NULL, p->wr, NULL, SPIPE_CAP - p->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		p->len += (size_t)n;
	} else if (n < 0 && errno == EAGAIN && p->len > 0) {
		/*
		 * The socket was readable, so the pipe is what said no: its slots
		 * can fill before SPIPE_CAP bytes when segments are small. Stop
		 * reading until the other side drains some, instead of spinning.
		 */
		p->full = true;
	}
	return n;
}

ssize_t spipe_drain(struct spipe *p, int fd)
{
	ssize_t n = splice(p->rd, NULL, fd, NULL, p->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		p->len -= (size_t)n;
		p->full = false;
	}
	return n;
}

void spipe_release(struct spipe *p)
{
	if (!spipe_active(p))
		return;
	if (p->len == 0 && pool_len < POOL_MAX) {
		pool[pool_len][0] = p->rd;
		pool[pool_len][1] = p->wr;
		pool_len++;
	} else {
		close(p->rd);
		close(p->wr);
	}
	spipe_init(p);
}
