/* log.c - one-line JSON logs on stderr (or a stream set by tests).
 * Each line is written with a single write so lines of concurrent
 * workers never interleave. It does not rotate files; the supervisor
 * (systemd, docker, the flightops script) owns the stream. */
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static const char *log_svc = "flightops";
static enum log_level log_min = LOG_LVL_INFO;
static FILE *log_stream;
static char log_request_id[72];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *svc, enum log_level min)
{
	log_svc = svc;
	log_min = min;
}

void log_set_stream(FILE *f)
{
	log_stream = f;
}

void log_set_request_id(const char *id)
{
	if (id == NULL)
		id = "";
	snprintf(log_request_id, sizeof(log_request_id), "%s", id);
}

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void add_field(struct buf *b, const char *key, const char *value)
{
	buf_adds(b, ",\"");
	buf_add_json_str(b, key);
	buf_adds(b, "\":\"");
	buf_add_json_str(b, value ? value : "");
	buf_addc(b, '"');
}

static void add_timestamp(struct buf *b)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	buf_printf(b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900,
	           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	           ts.tv_nsec / 1000000);
}

void log_write(enum log_level lvl, const char *msg, ...)
{
	struct buf b;
	va_list ap;

	if (lvl < log_min || lvl > LOG_LVL_ERROR)
		return;
	buf_init(&b);
	add_timestamp(&b);
	add_field(&b, "level", level_names[lvl]);
	add_field(&b, "svc", log_svc);
	buf_printf(&b, ",\"pid\":%ld", (long)getpid());
	add_field(&b, "request_id", log_request_id);
	add_field(&b, "msg", msg);
	va_start(ap, msg);
	for (const char *k; (k = va_arg(ap, const char *)) != NULL;)
		add_field(&b, k, va_arg(ap, const char *));
	va_end(ap);
	buf_adds(&b, "}\n");
	FILE *f = log_stream ? log_stream : stderr;
	if (f == stderr) {
		ssize_t unused = write(STDERR_FILENO, b.data, b.len);
		(void)unused;
	} else {
		fwrite(b.data, 1, b.len, f);
		fflush(f);
	}
	buf_release(&b);
}
