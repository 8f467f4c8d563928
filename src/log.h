/*
 * Logging in the OpenBSD daemon manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal and fatalx log and exit. Destinations (names,
 * addresses, ports a client asked for) go only through log_dest(), which
 * prints nothing unless the level is debug.
 */
#ifndef NACRE_LOG_H
#define NACRE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_init(enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
bool log_debug_enabled(void);
/* Parses "error", "warn", "info", "debug"; false if unknown. */
bool log_level_parse(const char *s, enum log_level *out);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
