#include "config.h"

#include <errno.h>
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

/*
 * The worker starts with the master's mask (SIGHUP, SIGTERM, SIGINT and
 * SIGCHLD blocked). It gets the mask it had before back, except that SIGHUP,
 * SIGTERM and SIGINT stay blocked until server_serve() has started their
 * watchers and unblocks them: a SIGHUP the master passes on while the worker
 * is still reading its config is then a reload once it is ready, not the
 * default action that would kill it.
 */
static pid_t spawn(const struct cli_opts *opts, unsigned i, unsigned n, const sigset_t *old)
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
	char err[600];
	/* The worker reads the config itself: reloads work the same way in it. */
	struct conf *conf = conf_load(opts, err, sizeof(err));
	if (!conf)
		fatalx("%s", err);
	_exit(server_serve(opts, conf, i, n));
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
                     const sigset_t *old)
{
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
			log_warnx("master: worker %u (pid %d) ended (status %d); starting it again",
			          i + 1, (int)pid, status);
			/* A worker that cannot even start must not spin the master. */
			if (time(NULL) - w[i].started < 2)
				sleep(1);
			w[i].pid = spawn(opts, i, n, old);
			if (w[i].pid > 0) {
				w[i].started = time(NULL);
				gone--;
			}
			break;
		}
	}
	return gone;
}

int workers_run(const struct cli_opts *opts, unsigned n)
{
	struct worker *w = calloc(n, sizeof(*w));
	sigset_t set, old;
	bool stopping = false;
	unsigned live = 0;

	if (!w)
		fatalx("out of memory");
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);

	for (unsigned i = 0; i < n; i++) {
		w[i].pid = spawn(opts, i, n, &old);
		if (w[i].pid < 0)
			fatal("fork");
		w[i].started = time(NULL);
		live++;
	}
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
			signal_all(w, n, SIGHUP);
		} else if (sig == SIGTERM || sig == SIGINT) {
			stopping = true;
			signal_all(w, n, SIGTERM);
		} else if (sig == SIGCHLD) {
			live -= reap(w, n, stopping, opts, &old);
		}
	}
	free(w);
	log_info("master: stopped");
	return 0;
}
