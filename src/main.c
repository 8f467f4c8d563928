/*
 * nacre: an anonymity-oriented chaining proxy.
 *
 *   nacre [run] [options]     run the daemon (the default)
 *   nacre check -c FILE       validate a config file
 *   nacre keygen FILE         make a relay key file, print its public key
 *   nacre pubkey FILE         print the public key of a relay key file
 *   nacre version             print the version
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hop.h"
#include "keyfile.h"
#include "log.h"
#include "secret.h"
#include "server.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: nacre [run] [-c FILE] [-l ADDR:PORT]... [--users FILE]\n"
	           "             [--resolver ADDR[:PORT]]... [--log-level LEVEL] [-v]\n"
	           "             [--workers N]\n"
	           "       nacre check -c FILE\n"
	           "       nacre keygen FILE\n"
	           "       nacre pubkey FILE\n"
	           "       nacre version\n"
	           "\n"
	           "  -c, --config FILE      read settings from FILE (see nacre.conf(5))\n"
	           "  -l, --listen ADDR:PORT serve SOCKS5, SOCKS4 and HTTP here (repeatable;\n"
	           "                         [::1]:1080 for IPv6); default 127.0.0.1:1080\n"
	           "  -u, --users FILE       require the user:password pairs in FILE\n"
	           "  -r, --resolver ADDR    DNS server to use instead of /etc/resolv.conf\n"
	           "      --log-level LEVEL  error, warn, info (default) or debug\n"
	           "  -v, --verbose          debug logging, destinations included\n"
	           "  -w, --workers N        N processes share the listeners (SO_REUSEPORT)\n"
	           "\n"
	           "  keygen FILE            write a new relay key to FILE (mode 0600, never\n"
	           "                         over an existing file) and print its public key\n"
	           "  pubkey FILE            print the public key of the relay key in FILE\n");
}

/*
 * Prints a public key alone on a line: exactly what `key = "..."` takes.
 * false if it could not be written (a full disk, a closed pipe): a key no
 * one saw must not look printed.
 */
static bool print_pubkey(const char *cmd, const uint8_t pk[32])
{
	char text[64];
	secret_base64_encode(text, sizeof(text), pk, 32);
	if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "nacre %s: cannot print the public key: %s\n", cmd,
		        strerror(errno));
		return false;
	}
	return true;
}

static int cmd_keygen(const char *path)
{
	uint8_t pk[32], sk[32];
	char err[600];

	if (!secret_x25519_keypair(pk, sk)) {
		fprintf(stderr, "nacre keygen: cannot make a key pair\n");
		return 1;
	}
	bool ok = keyfile_create(path, sk, err, sizeof(err));
	secret_wipe(sk, sizeof(sk));
	if (!ok) {
		fprintf(stderr, "nacre keygen: %s\n", err);
		return 1;
	}
	if (!print_pubkey("keygen", pk)) {
		fprintf(stderr, "nacre keygen: the key is in %s; `nacre pubkey %s` prints it\n",
		        path, path);
		return 1;
	}
	fprintf(stderr,
	        "nacre keygen: wrote the secret key to %s (keep it mode 0600); nodes that use "
	        "this relay list the line above as its key = \"...\";\n",
	        path);
	return 0;
}

static int cmd_pubkey(const char *path)
{
	struct relay_key k;
	char err[600];

	if (!keyfile_load(path, &k, err, sizeof(err))) {
		fprintf(stderr, "nacre pubkey: %s\n", err);
		return 1;
	}
	bool ok = print_pubkey("pubkey", k.pk);
	relay_key_wipe(&k);
	return ok ? 0 : 1;
}

/* keygen and pubkey take one file name and no options. */
static int cmd_key(const char *cmd, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "nacre %s: name the key file: nacre %s FILE\n", cmd, cmd);
		return 2;
	}
	/* "nacre keygen -v" would otherwise write a key file named "-v". */
	if (argv[1][0] == '-') {
		fprintf(stderr, "nacre %s: '%s' is not an option here; a file so named: ./%s\n",
		        cmd, argv[1], argv[1]);
		return 2;
	}
	if (!secret_init()) {
		fprintf(stderr, "nacre: cannot initialise libsodium\n");
		return 1;
	}
	return strcmp(cmd, "keygen") == 0 ? cmd_keygen(argv[1]) : cmd_pubkey(argv[1]);
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
	    {"workers", required_argument, NULL, 'w'},
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
	if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "pubkey") == 0)
		return cmd_key(cmd, argc, argv);
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) {
		fprintf(stderr, "nacre: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}

	int ch;
	while ((ch = getopt_long(argc, argv, "c:l:u:r:vw:h", longopts, NULL)) != -1) {
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
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < 1 || v > WORKERS_MAX) {
				fprintf(stderr, "nacre: --workers: expected 1 to %d\n",
				        WORKERS_MAX);
				return 2;
			}
			opts.workers = (unsigned)v;
			break;
		}
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
