/*
 * Internal parts of libSSCardDriver.so shared by its files (hidden: -fvisibility=hidden):
 * the growable buffer and flat JSON (json.c), the kept-alive HTTP/1.1 connection (http.c).
 */
#ifndef SSCARD_DRIVER_INTERNAL_H
#define SSCARD_DRIVER_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#define DEFAULT_URL "http://127.0.0.1:12342"
#define MAX_RESPONSE (4 * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 3000

typedef struct {
  char *p;
  size_t len, cap;
  int failed;
} buf_t;

void buf_reserve(buf_t *b, size_t extra);
void buf_add(buf_t *b, const char *s, size_t n);
void buf_str(buf_t *b, const char *s);
void buf_fmt(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(buf_t *b);

typedef struct {
  const char *name; /* JSON member wanted */
  buf_t value;      /* its text (strings decoded, numbers as written) */
  int found;
} field_t;

void json_string(buf_t *b, const char *s);
int json_parse_object(const char *p, field_t *fields, int nfields);

/* The connection (http.c); all of it is used under the library's one lock. */
extern int g_fd;             /* the kept-alive connection, -1 when none */
extern char g_url[512];      /* the URL the connection is for */
extern char g_prefix[256];   /* path before /api/<function> */
extern char g_hosthdr[300];  /* the Host: header */

void drop_connection(void);
int parse_url(const char *url, char *err, size_t errlen);
int connect_service(char *err, size_t errlen);
int connection_stale(void);
long long now_ms(void);
int exchange(const buf_t *req, buf_t *body, long long deadline, int *close_after);

#endif
