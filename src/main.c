/*
 * nacre: an anonymity-oriented chaining proxy.
 *
 *   nacre [run] [options]     run the daemon (the default)
 *   nacre check -c FILE       validate a config file
 *   nacre version             print the version
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "secret.h"
#include "server.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: nacre [run] [-c FILE] [-l ADDR:PORT]... [--users FILE]\n"
	           "             [--resolver ADDR[:PORT]]... [--log-level LEVEL] [-v]\n"
	           "       nacre check -c FILE\n"
	           "       nacre version\n"
	           "\n"
	           "  -c, --config FILE      read settings from FILE (see nacre.conf(5))\n"
	           "  -l, --listen ADDR:PORT serve SOCKS5, SOCKS4 and HTTP here (repeatable;\n"
	           "                         [::1]:1080 for IPv6); default 127.0.0.1:1080\n"
	           "  -u, --users FILE       require the user:password pairs in FILE\n"
	           "  -r, --resolver ADDR    DNS server to use instead of /etc/resolv.conf\n"
	           "      --log-level LEVEL  error, warn, info (default) or debug\n"
	           "  -v, --verbose          debug logging, destinations included\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"users", required_argument, NULL, 'u'},
	    {"resolver", required_argument, NULL, 'r'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_opts opts;
	const char *cmd = "run";

	memset(&opts, 0, sizeof(opts));
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("nacre %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) {
		fprintf(stderr, "nacre: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}

	int ch;
	while ((ch = getopt_long(argc, argv, "c:l:u:r:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'l':
			if (opts.nlisten == ARRAY_LEN(opts.listen)) {
				fprintf(stderr, "nacre: too many --listen options\n");
				return 2;
			}
			opts.listen[opts.nlisten++] = optarg;
			break;
		case 'u':
			opts.users_path = optarg;
			break;
		case 'r':
			if (opts.nresolvers == ARRAY_LEN(opts.resolvers)) {
				fprintf(stderr, "nacre: too many --resolver options\n");
				return 2;
			}
			opts.resolvers[opts.nresolvers++] = optarg;
			break;
		case 'L':
			opts.log_level = optarg;
			break;
		case 'v':
			opts.log_level = "debug";
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nacre: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!secret_init()) {
		fprintf(stderr, "nacre: cannot initialise libsodium\n");
		return 1;
	}

	if (strcmp(cmd, "check") == 0) {
		char err[600];
		if (!opts.config_path) {
			fprintf(stderr, "nacre check: name the file with -c FILE\n");
			return 2;
		}
		struct conf *c = conf_load(&opts, err, sizeof(err));
		if (!c) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		conf_unref(c);
		printf("%s: OK\n", opts.config_path);
		return 0;
	}
	return server_run(&opts);
}
