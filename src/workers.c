#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "server.h"
#include "workers.h"

struct worker {
	pid_t pid; /* 0: not running */
	time_t started;
};

/* A worker's end of the pipe its master waits on until it listens; -1 in the master. */
static int ready_fd = -1;

void workers_ready(void)
{
	if (ready_fd < 0)
		return;
	char b = 1;
	while (write(ready_fd, &b, 1) < 0 && errno == EINTR)
		;
	close(ready_fd);
	ready_fd = -1;
}

/*
 * The worker starts with the master's mask (SIGHUP, SIGTERM, SIGINT and
 * SIGCHLD blocked). It gets the mask it had before back, except that SIGHUP,
 * SIGTERM and SIGINT stay blocked until server_serve() has started their
 * watchers and unblocks them: a SIGHUP the master passes on while the worker
 * is still starting is then a reload once it is ready, not the default action
 * that would kill it.
 *
 * It serves the master's config: the last one the master accepted, at start
 * or at a SIGHUP. A worker started again after a crash must not pick up an
 * edit nobody has asked to apply (a broken one would stop it starting at all,
 * a good one would give it other rules than its siblings). ready[] is the
 * pipe the master reads until the worker listens.
 */
static pid_t spawn(const struct cli_opts *opts, struct conf *conf, unsigned i, unsigned n,
                   const sigset_t *old, const int ready[2])
{
	pid_t master = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid; /* the master, or -1 */
	sigset_t mask = *old;
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/*
	 * A worker must not outlive its master: nobody would stop it, and it
	 * would hold the ports. SIGTERM lets it drain. A master that died before
	 * this line sent nothing, hence the check after it.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_warn("worker %u: PR_SET_PDEATHSIG", i + 1);
	if (getppid() != master)
		_exit(0);
	close(ready[0]);
	ready_fd = ready[1];
	/* The worker owns its copy of the master's reference; it reloads by itself. */
	_exit(server_serve(opts, conf, i, n));
}

static void log_end(unsigned i, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("master: worker %u (pid %d) was killed by signal %d", i + 1, (int)pid,
		          WTERMSIG(status));
	else
		log_warnx("master: worker %u (pid %d) exited with status %d", i + 1, (int)pid,
		          WEXITSTATUS(status));
}

static void signal_all(struct worker *w, unsigned n, int sig)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, sig);
}

/* Reads the start-up pipe until every write end is closed: how many listen. */
static unsigned count_ready(int fd)
{
	unsigned ready = 0;
	for (;;) {
		char b[64];
		ssize_t r = read(fd, b, sizeof(b));
		if (r > 0)
			ready += (unsigned)r;
		else if (r == 0 || errno != EINTR)
			return ready;
	}
}

/*
 * Starts worker i again with conf and waits until it listens (a second or
 * so at most: a relay listens at its next whole second). Returns its pid,
 * or 0 if it could not start (it is reaped and its end logged).
 */
static pid_t start_again(const struct cli_opts *opts, struct conf *conf, unsigned i, unsigned n,
                         const sigset_t *old)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return 0;
	pid_t pid = spawn(opts, conf, i, n, old, p);
	close(p[1]);
	unsigned ready = count_ready(p[0]);
	close(p[0]);
	if (pid > 0 && ready == 0) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		log_end(i, pid, status);
	}
	return pid > 0 && ready > 0 ? pid : 0;
}

/*
 * Worker i is down: starts it with the master's config, and if that fails,
 * with the one before the last SIGHUP. The workers refuse a reload they
 * cannot apply (a new port taken, say) and keep the config before it, while
 * the master only reads the file; so when the older one starts, the master
 * keeps it too. Returns whether the worker runs.
 */
static bool revive(struct worker *w, unsigned i, unsigned n, const struct cli_opts *opts,
                   struct conf **conf, struct conf **prev, const sigset_t *old)
{
	/* A worker that cannot even start must not spin the master. */
	if (time(NULL) - w[i].started < 2)
		sleep(1);
	log_warnx("master: starting worker %u again", i + 1);
	w[i].started = time(NULL);
	w[i].pid = start_again(opts, *conf, i, n, old);
	if (w[i].pid == 0 && *prev) {
		log_warnx("master: worker %u cannot start with the config of the last reload; "
		          "starting it with the one before",
		          i + 1);
		w[i].pid = start_again(opts, *prev, i, n, old);
		if (w[i].pid > 0) {
			conf_unref(*conf);
			*conf = *prev;
			*prev = NULL;
		}
	}
	if (w[i].pid == 0)
		log_warnx("master: worker %u cannot start; trying again in a second", i + 1);
	return w[i].pid > 0;
}

/* After a worker failed to start: stops the others and waits for them all. */
static int give_up(struct worker *w, unsigned n, struct conf *conf)
{
	log_warnx("master: a worker could not start; stopping");
	signal_all(w, n, SIGTERM);
	for (unsigned i = 0; i < n; i++)
		if (w[i].pid > 0)
			while (waitpid(w[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
	free(w);
	conf_unref(conf);
	return 1;
}

int workers_run(const struct cli_opts *opts, struct conf *conf)
{
	unsigned n = conf->workers;
	struct worker *w = calloc(n, sizeof(*w));
	sigset_t set, old;
	bool stopping = false;
	unsigned live = 0, ready = 0;
	int pipefd[2];

	if (!w)
		fatalx("out of memory");
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* server_run() blocked the first three; the workers must not start so. */
	sigdelset(&old, SIGHUP);
	sigdelset(&old, SIGTERM);
	sigdelset(&old, SIGINT);

	/*
	 * Each worker writes a byte once it listens and closes its end; one that
	 * fails to start closes it by exiting. The read below ends when every
	 * end is closed, so fewer bytes than workers means a start-up error
	 * (a port taken, say): the daemon then exits 1 as a single process would,
	 * instead of starting that worker again for ever.
	 */
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		fatal("pipe");
	for (unsigned i = 0; i < n; i++) {
		w[i].pid = spawn(opts, conf, i, n, &old, pipefd);
		if (w[i].pid < 0)
			fatal("fork");
		w[i].started = time(NULL);
		live++;
	}
	close(pipefd[1]);
	ready = count_ready(pipefd[0]);
	close(pipefd[0]);
	if (ready < n)
		return give_up(w, n, conf);
	log_info("master: %u workers started", n);

	struct conf *prev = NULL; /* the config before the last reload */
	unsigned down = 0;        /* workers that could not be started again */
	while (live > 0 || (down > 0 && !stopping)) {
		siginfo_t si;
		struct timespec second = {1, 0};
		int sig = down > 0 && !stopping ? sigtimedwait(&set, &si, &second)
		                                : sigwaitinfo(&set, &si);
		if (sig < 0 && errno == EAGAIN) {
			sig = 0; /* a second has passed: try the workers that are down */
		} else if (sig < 0) {
			if (errno == EINTR)
				continue;
			fatal("sigwaitinfo");
		}
		if (sig == SIGHUP && !stopping) {
			/*
			 * The master reads the file too, only to keep what a worker
			 * started again will serve; each worker reloads and reports
			 * by itself.
			 */
			char err[600];
			struct conf *fresh = conf_load(opts, err, sizeof(err));
			if (fresh) {
				conf_unref(prev);
				prev = conf;
				conf = fresh;
			} else {
				log_warnx(
				    "master: %s; a worker started again keeps the running config",
				    err);
			}
			signal_all(w, n, SIGHUP);
		} else if (sig == SIGTERM || sig == SIGINT) {
			stopping = true;
			signal_all(w, n, SIGTERM);
		} else if (sig == SIGCHLD) {
			pid_t pid;
			int status;
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				for (unsigned i = 0; i < n; i++)
					if (w[i].pid == pid) {
						w[i].pid = 0;
						live--;
						down++;
						if (!stopping)
							log_end(i, pid, status);
					}
		}
		for (unsigned i = 0; i < n && down > 0 && !stopping; i++)
			if (w[i].pid == 0 && revive(w, i, n, opts, &conf, &prev, &old)) {
				live++;
				down--;
			}
	}
	conf_unref(prev);
	free(w);
	conf_unref(conf);
	log_info("master: stopped");
	return 0;
}
