/* log.h: leveled logging to stderr only (stdout belongs to the protocol). The level comes
 * from --log-level or the LAYERSCOPE_LOG environment variable: error, warn, info, debug,
 * trace, or off. Thread-safe: one line is written with one write(2). */
#ifndef LS_LOG_H
#define LS_LOG_H

typedef enum ls_log_level {
  LS_LOG_OFF = 0, LS_LOG_ERROR, LS_LOG_WARN, LS_LOG_INFO, LS_LOG_DEBUG, LS_LOG_TRACE
} ls_log_level;

void ls_log_set_level(ls_log_level level);
ls_log_level ls_log_get_level(void);
/* Parses "error".."trace"/"off" (case-insensitive) or a digit 0-5; returns 0 or LS_EINVAL. */
int ls_log_parse_level(const char *s, ls_log_level *out);
/* Reads LAYERSCOPE_LOG if set and valid; default level is warn. */
void ls_log_init_from_env(void);

void ls_log(ls_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ls_log_error(...) ls_log(LS_LOG_ERROR, __VA_ARGS__)
#define ls_log_warn(...) ls_log(LS_LOG_WARN, __VA_ARGS__)
#define ls_log_info(...) ls_log(LS_LOG_INFO, __VA_ARGS__)
#define ls_log_debug(...) ls_log(LS_LOG_DEBUG, __VA_ARGS__)
#define ls_log_trace(...) ls_log(LS_LOG_TRACE, __VA_ARGS__)

#endif
