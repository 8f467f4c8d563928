#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "spare.h"
#include "util.h"

#define SPARE_LIFETIME 1.5  /* an unused spare is closed after this */
#define SPARE_KEEP     30.0 /* an address used this recently gets a new spare; older ones go */
#define SPARE_MAX      64   /* addresses remembered */

struct spare {
	struct server *srv;
	struct sockaddr_storage addr;
	int fd; /* -1: none */
	bool ready;
	ev_io io;
	ev_timer timer;
	ev_tstamp last_used;
	struct spare *next;
};

static void drop_fd(struct spare *s)
{
	ev_io_stop(s->srv->loop, &s->io);
	ev_timer_stop(s->srv->loop, &s->timer);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->ready = false;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);

static bool stale(const struct spare *s, ev_tstamp now)
{
	return now - s->last_used >= SPARE_KEEP;
}

/* Drops an address no longer in use, so that the table holds those that are. */
static void forget(struct spare *s)
{
	struct spare **pp = &s->srv->spares;
	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	drop_fd(s);
	free(s);
}

static void refill(struct spare *s)
{
	drop_fd(s);
	int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&s->addr, addr_len((struct sockaddr *)&s->addr)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return;
	}
	s->fd = fd;
	ev_io_set(&s->io, fd, EV_WRITE);
	ev_io_start(s->srv->loop, &s->io);
	ev_timer_set(&s->timer, SPARE_LIFETIME, 0.);
	ev_timer_start(s->srv->loop, &s->timer);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct spare *s = container_of(w, struct spare, io);
	int err = 0;
	socklen_t len = sizeof(err);
	ev_io_stop(s->srv->loop, &s->io);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
		drop_fd(s); /* the next real dial will report what is wrong */
		return;
	}
	s->ready = true;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct spare *s = container_of(w, struct spare, timer);
	drop_fd(s);
	if (stale(s, ev_now(loop)))
		forget(s);
	else
		refill(s);
}

/* A spare the relay has closed meanwhile (it reads EOF or an error) is no use. */
static bool alive(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static struct spare *find(struct server *srv, const struct sockaddr_storage *addr, bool add)
{
	struct spare *s, **pp = &srv->spares;
	unsigned n = 0;
	while ((s = *pp)) {
		if (addr_equal(&s->addr, addr))
			return s;
		/* One whose refill failed has no timer to let it go: it goes here. */
		if (s->fd < 0 && stale(s, ev_now(srv->loop))) {
			forget(s); /* *pp is s->next now */
			continue;
		}
		pp = &s->next;
		n++;
	}
	if (!add || n >= SPARE_MAX || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->srv = srv;
	s->addr = *addr;
	s->fd = -1;
	ev_io_init(&s->io, on_io, -1, 0);
	ev_timer_init(&s->timer, on_timer, 0., 0.);
	*pp = s;
	return s;
}

int spare_take(struct server *srv, const struct sockaddr_storage *addr)
{
	struct spare *s = find(srv, addr, false);
	if (!s || !s->ready || !alive(s->fd))
		return -1;
	int fd = s->fd;
	s->fd = -1;
	drop_fd(s);
	return fd;
}

void spare_refill(struct server *srv, const struct sockaddr_storage *addr)
{
	struct spare *s = find(srv, addr, true);
	if (!s)
		return;
	s->last_used = ev_now(srv->loop);
	if (s->fd < 0)
		refill(s);
}

void spare_free_all(struct server *srv)
{
	while (srv->spares) {
		struct spare *s = srv->spares;
		srv->spares = s->next;
		drop_fd(s);
		free(s);
	}
}
