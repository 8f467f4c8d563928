#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "spipe.h"

#define POOL_MAX 64

static int pool[POOL_MAX][3]; /* read end, write end, size */
static size_t pool_len;

void spipe_init(struct spipe *p)
{
	p->rd = p->wr = -1;
	p->len = 0;
	p->cap = 0;
	p->full = false;
	p->carried = 0;
}

void spipe_account(struct spipe *p, size_t n)
{
	p->carried += n;
	if (spipe_active(p) || p->carried < SPIPE_AFTER)
		return;
	int fds[2], size;
	if (pool_len > 0) {
		pool_len--;
		fds[0] = pool[pool_len][0];
		fds[1] = pool[pool_len][1];
		size = pool[pool_len][2];
	} else if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
		return; /* out of descriptors: stay with buffers */
	} else if ((size = fcntl(fds[1], F_SETPIPE_SZ, SPIPE_WANT)) < 0) {
		size = fcntl(fds[1], F_GETPIPE_SZ);
		if (size <= 0)
			size = 64 * 1024;
	}
	p->rd = fds[0];
	p->wr = fds[1];
	p->cap = (size_t)size;
}

ssize_t spipe_fill(struct spipe *p, int fd)
{
	ssize_t n =
	    splice(fd, NULL, p->wr, NULL, p->cap - p->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		p->len += (size_t)n;
	} else if (n < 0 && errno == EAGAIN && p->len > 0) {
		/*
		 * The socket was readable, so the pipe is what said no: its slots
		 * can fill before p->cap bytes when segments are small. Stop
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
		pool[pool_len][2] = (int)p->cap;
		pool_len++;
	} else {
		close(p->rd);
		close(p->wr);
	}
	spipe_init(p);
}
