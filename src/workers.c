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

/* A first-generation worker's end of the master's start-up pipe; -1 otherwise. */
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
 * start-up pipe, or {-1, -1} for a worker started again.
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
	if (ready[0] >= 0)
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

/*
 * Collects the workers that ended; unless stopping, starts each again.
 * Returns how many fewer are running now.
 */
static unsigned reap(struct worker *w, unsigned n, bool stopping, const struct cli_opts *opts,
                     struct conf *conf, const sigset_t *old)
{
	static const int no_pipe[2] = {-1, -1};
	unsigned gone = 0;
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (w[i].pid != pid)
				continue;
			w[i].pid = 0;
			gone++;
			if (stopping)
				break;
			log_end(i, pid, status);
			log_warnx("master: starting worker %u again", i + 1);
			/* A worker that cannot even start must not spin the master. */
			if (time(NULL) - w[i].started < 2)
				sleep(1);
			w[i].pid = spawn(opts, conf, i, n, old, no_pipe);
			if (w[i].pid > 0) {
				w[i].started = time(NULL);
				gone--;
			}
			break;
		}
	}
	return gone;
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
	for (;;) {
		char b[64];
		ssize_t r = read(pipefd[0], b, sizeof(b));
		if (r > 0)
			ready += (unsigned)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	close(pipefd[0]);
	if (ready < n)
		return give_up(w, n, conf);
	log_info("master: %u workers started", n);

	while (live > 0) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0) {
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
				conf_unref(conf);
				conf = fresh;
			}
			signal_all(w, n, SIGHUP);
		} else if (sig == SIGTERM || sig == SIGINT) {
			stopping = true;
			signal_all(w, n, SIGTERM);
		} else if (sig == SIGCHLD) {
			live -= reap(w, n, stopping, opts, conf, &old);
		}
	}
	free(w);
	conf_unref(conf);
	log_info("master: stopped");
	return 0;
}
