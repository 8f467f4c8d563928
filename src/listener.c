#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define ACCEPTS_PER_WAKEUP 64
#define RESUME_SECONDS     0.5 /* a paused listener tries again this often */

bool listener_allows(const struct listen_conf *lc, const struct sockaddr *sa)
{
	for (size_t i = 0; i < lc->nallow; i++)
		if (cidr_match(&lc->allow[i], sa))
			return true;
	return false;
}

enum refuse {
	REFUSE_ONE,   /* a waiting client was accepted and closed */
	REFUSE_EMPTY, /* nobody is waiting */
	REFUSE_STUCK, /* not even the reserve could make room */
};

/*
 * Out of descriptors: give up the reserved one, accept the waiting client and
 * close it at once, then take the reserve back. The client sees a clean close
 * instead of hanging in the backlog, and the listener does not spin.
 */
static enum refuse refuse_one(struct listener *l)
{
	struct server *srv = l->srv;
	if (srv->reserve_fd >= 0) {
		close(srv->reserve_fd);
		srv->reserve_fd = -1;
	}
	int fd = accept(l->fd, NULL, NULL);
	int err = errno;
	if (fd >= 0)
		close(fd);
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || err == ECONNABORTED || err == EINTR)
		return REFUSE_ONE;
	/*
	 * accept4() says EMFILE before it looks at the queue, so the pass after
	 * the last waiting client was refused ends here, not at EAGAIN.
	 */
	if (err == EAGAIN || err == EWOULDBLOCK)
		return REFUSE_EMPTY;
	return REFUSE_STUCK;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct listener *l = container_of(w, struct listener, io);
	struct server *srv = l->srv;

	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd =
		    accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				if (!srv->fd_exhausted)
					log_warnx("out of file descriptors: refusing new clients");
				srv->fd_exhausted = true;
				enum refuse how = refuse_one(l);
				if (how == REFUSE_ONE)
					continue;
				if (how == REFUSE_STUCK)
					listener_pause(l);
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (!listener_allows(l->lc, (struct sockaddr *)&peer)) {
			log_debug("refused a client outside the listener's allow list");
			close(fd);
			continue;
		}
		if (!server_admit(srv, (struct sockaddr *)&peer, !l->lc->relay)) {
			close(fd);
			continue;
		}
		if (!client_new(srv, fd, &peer, srv->conf, l->lc)) {
			log_warnx("out of memory: refusing a new client");
			server_unadmit(srv, (struct sockaddr *)&peer);
			close(fd);
		}
	}
}

static void on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct listener *l = container_of(w, struct listener, resume);
	struct server *srv = l->srv;
	if (srv->reserve_fd < 0)
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	listener_resume(l);
}

struct listener *listener_open(struct server *srv, const struct listen_conf *lc)
{
	char text[ADDR_STR_MAX];
	const struct sockaddr *sa = (const struct sockaddr *)&lc->addr;

	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket for %s", addr_format(sa, text));
		return NULL;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* Workers each bind the address; the kernel spreads new connections. */
	if (srv->nworkers > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		log_warn("SO_REUSEPORT on %s", addr_format(sa, text));
	if (bind(fd, sa, lc->addrlen) != 0 || listen(fd, 1024) != 0) {
		log_warn("cannot listen on %s", addr_format(sa, text));
		close(fd);
		return NULL;
	}
	struct listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return NULL;
	}
	l->srv = srv;
	l->fd = fd;
	l->addr = lc->addr;
	l->addrlen = lc->addrlen;
	l->lc = lc;
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	ev_io_start(srv->loop, &l->io);
	ev_timer_init(&l->resume, on_resume, RESUME_SECONDS, 0.);

	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	getsockname(fd, (struct sockaddr *)&bound, &blen);
	if (lc->relay)
		log_info("listening on %s (relay%s)", addr_format((struct sockaddr *)&bound, text),
		         lc->relay->exit ? ", exit" : ", middle only");
	else
		log_info("listening on %s (%s%s%s)%s%s%s",
		         addr_format((struct sockaddr *)&bound, text),
		         (lc->protocols & LISTEN_SOCKS5) ? "socks5 " : "",
		         (lc->protocols & LISTEN_SOCKS4) ? "socks4 " : "",
		         (lc->protocols & LISTEN_HTTP) ? "http" : "",
		         lc->users ? " with authentication" : "", lc->route ? " via chain " : "",
		         lc->route ? lc->route->name : "");
	return l;
}

void listener_close(struct listener *l)
{
	if (!l)
		return;
	ev_io_stop(l->srv->loop, &l->io);
	ev_timer_stop(l->srv->loop, &l->resume);
	close(l->fd);
	free(l);
}

/*
 * Not even the reserve descriptor was left to refuse a client with (ENFILE:
 * the system's table is full, and another process took the reserve's slot).
 * A client that closes resumes the listener (server_client_gone); the timer
 * does too, because descriptors may come free elsewhere while no client of
 * this process is left to close.
 */
void listener_pause(struct listener *l)
{
	if (l->paused)
		return;
	l->paused = true;
	ev_io_stop(l->srv->loop, &l->io);
	ev_timer_set(&l->resume, RESUME_SECONDS, 0.);
	ev_timer_start(l->srv->loop, &l->resume);
}

void listener_resume(struct listener *l)
{
	if (!l->paused)
		return;
	l->paused = false;
	ev_timer_stop(l->srv->loop, &l->resume);
	ev_io_start(l->srv->loop, &l->io);
}
