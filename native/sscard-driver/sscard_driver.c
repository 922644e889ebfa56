/*
 * libSSCardDriver.so — SSCard Lab's native reader library (LD/T 6001.5 interface).
 *
 * Each exported function turns its arguments into the flat JSON request of the local service
 * (`sscard driver serve`), POSTs it to $SSCARD_DRIVER_URL/api/<function> over one kept-alive
 * HTTP/1.1 connection, and copies the answer's outputs back into the caller's buffers,
 * converted from UTF-8 to the caller's charset (GBK unless $SSCARD_DRIVER_CHARSET says
 * otherwise). No service → -11 (读卡器连接错误). Calls are serialised by one mutex: a process
 * drives one reader.
 *
 * Settings (environment, read at each call):
 *   SSCARD_DRIVER_URL          http://host:port[/prefix]   default http://127.0.0.1:12342
 *   SSCARD_DRIVER_CHARSET      iconv name of the caller's strings   default GBK
 *   SSCARD_DRIVER_TIMEOUT      seconds to wait for an answer (PIN entry included)   default 120
 *   SSCARD_DRIVER_OUTBUF_SIZE  bytes the caller's output buffers hold   default 1024
 *
 * Build: npm run build:driver (scripts/build-driver.mjs) → build/libSSCardDriver.so
 */
#define _GNU_SOURCE
#include "sscard_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* Codes of the interface this library itself returns. */
#define E_CONNECT -11  /* 读卡器连接错误: no service, or it stopped answering */
#define E_PARAM -14    /* 命令参数错误 */
#define E_CHECK -15    /* 信息校验出错: the service's answer is not what the protocol says */
#define E_CHARSET -41  /* 运算数据含非法字符: an input is not valid in the caller's charset */
#define E_LENGTH -42   /* 运算数据长度错误: an output does not fit the caller's buffer */

#define DEFAULT_URL "http://127.0.0.1:12342"
#define MAX_RESPONSE (4 * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 3000

/* ---------------------------------------------------------------- growable buffer */

typedef struct {
  char *p;
  size_t len, cap;
  int failed;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->failed || b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->failed = 1;
    return;
  }
  b->p = p;
  b->cap = cap;
}

static void buf_add(buf_t *b, const char *s, size_t n) {
  buf_reserve(b, n);
  if (b->failed) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fmt(buf_t *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- settings and state */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1;               /* the kept-alive connection, -1 when none */
static char g_url[512];             /* the URL the connection was made for */
static char g_host[256], g_port[8]; /* parsed from it */
static char g_prefix[256];          /* path before /api/<function> */
static char g_hosthdr[300];         /* the Host: header */
static char g_charset[64];          /* the caller's charset, iconv name */
static iconv_t g_to_caller = (iconv_t)-1, g_from_caller = (iconv_t)-1;

static long env_long(const char *name, long dflt, long min, long max) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < min || n > max) return dflt;
  return n;
}

static void drop_connection(void) {
  if (g_fd >= 0) close(g_fd);
  g_fd = -1;
}

/* Parses http://host[:port][/prefix]; 0 on success. */
static int parse_url(const char *url, char *err, size_t errlen) {
  if (strncmp(url, "http://", 7) != 0) {
    snprintf(err, errlen, "SSCARD_DRIVER_URL must start with http:// (got '%.200s')", url);
    return -1;
  }
  const char *h = url + 7, *end;
  if (*h == '[') {
    end = strchr(h, ']');
    if (!end) goto bad;
    size_t n = (size_t)(end - h - 1);
    if (n == 0 || n >= sizeof g_host) goto bad;
    memcpy(g_host, h + 1, n);
    g_host[n] = 0;
    end++;
  } else {
    end = h + strcspn(h, ":/");
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= sizeof g_host) goto bad;
    memcpy(g_host, h, n);
    g_host[n] = 0;
  }
  if (*end == ':') {
    const char *p = end + 1;
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n > 5 || atoi(p) > 65535 || atoi(p) == 0) goto bad;
    memcpy(g_port, p, n);
    g_port[n] = 0;
    end = p + n;
  } else {
    strcpy(g_port, "80");
  }
  if (*end && *end != '/') goto bad;
  size_t plen = strlen(end);
  while (plen > 0 && end[plen - 1] == '/') plen--;
  if (plen >= sizeof g_prefix) goto bad;
  memcpy(g_prefix, end, plen);
  g_prefix[plen] = 0;
  if (strchr(g_host, ':'))
    snprintf(g_hosthdr, sizeof g_hosthdr, "[%s]:%s", g_host, g_port);
  else
    snprintf(g_hosthdr, sizeof g_hosthdr, "%s:%s", g_host, g_port);
  return 0;
bad:
  snprintf(err, errlen, "SSCARD_DRIVER_URL is not http://host:port[/path] (got '%.200s')", url);
  return -1;
}

/* Applies the environment; 0 on success, else a message in err. */
static int configure(char *err, size_t errlen) {
  const char *url = getenv("SSCARD_DRIVER_URL");
  if (!url || !*url) url = DEFAULT_URL;
  if (strlen(url) >= sizeof g_url) {
    snprintf(err, errlen, "SSCARD_DRIVER_URL is too long");
    return -1;
  }
  if (strcmp(url, g_url) != 0) {
    drop_connection();
    g_url[0] = 0;
    if (parse_url(url, err, errlen) != 0) return -1;
    strcpy(g_url, url);
  }
  const char *cs = getenv("SSCARD_DRIVER_CHARSET");
  if (!cs || !*cs) cs = "GBK";
  if (strcmp(cs, g_charset) != 0 || g_to_caller == (iconv_t)-1) {
    if (strlen(cs) >= sizeof g_charset) {
      snprintf(err, errlen, "SSCARD_DRIVER_CHARSET is too long");
      return -1;
    }
    if (g_to_caller != (iconv_t)-1) iconv_close(g_to_caller);
    if (g_from_caller != (iconv_t)-1) iconv_close(g_from_caller);
    g_to_caller = iconv_open(cs, "UTF-8");
    g_from_caller = iconv_open("UTF-8", cs);
    if (g_to_caller == (iconv_t)-1 || g_from_caller == (iconv_t)-1) {
      if (g_to_caller != (iconv_t)-1) iconv_close(g_to_caller);
      if (g_from_caller != (iconv_t)-1) iconv_close(g_from_caller);
      g_to_caller = g_from_caller = (iconv_t)-1;
      g_charset[0] = 0;
      snprintf(err, errlen, "SSCARD_DRIVER_CHARSET '%.60s' is not a charset iconv knows", cs);
      return -1;
    }
    strcpy(g_charset, cs);
  }
  return 0;
}

/* Converts in (NUL-terminated) with cd, appending to out; 0, or -1 on an invalid sequence. */
static int convert(iconv_t cd, const char *in, buf_t *out) {
  iconv(cd, NULL, NULL, NULL, NULL);
  char *src = (char *)in;
  size_t left = strlen(in);
  while (left > 0) {
    buf_reserve(out, left * 2 + 16);
    if (out->failed) return -1;
    char *dst = out->p + out->len;
    size_t room = out->cap - out->len - 1;
    size_t r = iconv(cd, &src, &left, &dst, &room);
    out->len = (size_t)(dst - out->p);
    out->p[out->len] = 0;
    if (r == (size_t)-1 && errno != E2BIG) return -1;
  }
  buf_reserve(out, 16);
  if (out->failed) return -1;
  char *dst = out->p + out->len;
  size_t room = out->cap - out->len - 1;
  iconv(cd, NULL, NULL, &dst, &room);
  out->len = (size_t)(dst - out->p);
  out->p[out->len] = 0;
  return 0;
}

/* ---------------------------------------------------------------- the connection */

static int connect_service(char *err, size_t errlen) {
  struct addrinfo hints, *res = NULL, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(g_host, g_port, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "读卡服务地址无法解析 cannot resolve %s: %s", g_host, gai_strerror(rc));
    return -1;
  }
  int fd = -1, lasterr = ECONNREFUSED;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      lasterr = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS) {
      struct pollfd p = {fd, POLLOUT, 0};
      int n = poll(&p, 1, CONNECT_TIMEOUT_MS);
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) break;
      lasterr = n == 0 ? ETIMEDOUT : soerr ? soerr : errno;
    } else {
      lasterr = errno;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errlen, "读卡服务未运行 no SSCard reader service at %.200s (%s): start it with 'sscard driver serve'",
             g_url, strerror(lasterr));
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  g_fd = fd;
  return 0;
}

/* Whether the kept-alive connection was closed by the service while idle. */
static int connection_stale(void) {
  struct pollfd p = {g_fd, POLLIN, 0};
  if (poll(&p, 1, 0) == 0) return 0;
  char c;
  ssize_t n = recv(g_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(g_fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads more bytes into b before the deadline; >0 read, 0 closed, -1 error or timeout. */
static ssize_t recv_some(buf_t *b, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd p = {g_fd, POLLIN, 0};
    int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) continue;
    buf_reserve(b, 16384);
    if (b->failed) return -1;
    ssize_t r = recv(g_fd, b->p + b->len, b->cap - b->len - 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) {
      b->len += (size_t)r;
      b->p[b->len] = 0;
    }
    return r;
  }
}

/* Case-insensitive search for a header line's value; returns its start or NULL. */
static const char *header_value(const char *head, const char *name) {
  size_t n = strlen(name);
  const char *line = strstr(head, "\r\n");
  while (line && line[2] != '\r') {
    line += 2;
    if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
      const char *v = line + n + 1;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    }
    line = strstr(line, "\r\n");
  }
  return NULL;
}

/*
 * One HTTP exchange on the current connection: sends req, reads the answer's body into body.
 * Returns the HTTP status (>0), 0 when the connection closed before any byte of an answer
 * (safe to retry a read), or -1 on an error after that.
 */
static int exchange(const buf_t *req, buf_t *body, long long deadline, int *close_after) {
  if (send_all(req->p, req->len) != 0) return 0;
  buf_t in = {0};
  size_t head_end = 0;
  for (;;) {
    char *e = in.p ? strstr(in.p, "\r\n\r\n") : NULL;
    if (e) {
      head_end = (size_t)(e - in.p) + 4;
      break;
    }
    if (in.len > 65536) goto fail;
    ssize_t r = recv_some(&in, deadline);
    if (r == 0 && in.len == 0) {
      buf_free(&in);
      return 0;
    }
    if (r <= 0) goto fail;
  }
  int status = 0;
  if (sscanf(in.p, "HTTP/1.%*d %d", &status) != 1 || status < 100) goto fail;
  in.p[head_end - 2] = 0; /* end the header block for the searches */
  const char *conn = header_value(in.p, "Connection");
  *close_after = (conn && strncasecmp(conn, "close", 5) == 0) || strncmp(in.p, "HTTP/1.0", 8) == 0;
  const char *te = header_value(in.p, "Transfer-Encoding");
  const char *cl = header_value(in.p, "Content-Length");
  size_t pos = head_end;
  if (te && strncasecmp(te, "chunked", 7) == 0) {
    for (;;) {
      char *eol;
      while (!(eol = strstr(in.p + pos, "\r\n"))) {
        if (recv_some(&in, deadline) <= 0) goto fail;
      }
      unsigned long size = strtoul(in.p + pos, NULL, 16);
      if (size > MAX_RESPONSE || body->len + size > MAX_RESPONSE) goto fail;
      size_t data = (size_t)(eol - in.p) + 2;
      while (in.len < data + size + 2) {
        if (recv_some(&in, deadline) <= 0) goto fail;
      }
      if (size == 0) {
        /* trailers: read up to the blank line */
        while (!strstr(in.p + data, "\r\n")) {
          if (recv_some(&in, deadline) <= 0) goto fail;
        }
        break;
      }
      buf_add(body, in.p + data, size);
      pos = data + size + 2;
    }
  } else if (cl) {
    unsigned long size = strtoul(cl, NULL, 10);
    if (size > MAX_RESPONSE) goto fail;
    while (in.len < head_end + size) {
      if (recv_some(&in, deadline) <= 0) goto fail;
    }
    buf_add(body, in.p + head_end, size);
  } else {
    /* no length: the body runs to the end of the connection */
    *close_after = 1;
    for (;;) {
      ssize_t r = recv_some(&in, deadline);
      if (r == 0) break;
      if (r < 0 || in.len > MAX_RESPONSE) goto fail;
    }
    buf_add(body, in.p + head_end, in.len - head_end);
  }
  buf_free(&in);
  if (body->failed) return -1;
  return status;
fail:
  buf_free(&in);
  return -1;
}

/* ---------------------------------------------------------------- JSON */

static void json_string(buf_t *b, const char *s) {
  buf_add(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"') buf_add(b, "\\\"", 2);
    else if (*p == '\\') buf_add(b, "\\\\", 2);
    else if (*p < 0x20) buf_fmt(b, "\\u%04x", *p);
    else buf_add(b, (const char *)p, 1);
  }
  buf_add(b, "\"", 1);
}

static const char *json_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return p;
}

static void utf8_put(buf_t *b, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
    u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  buf_add(b, u, n);
}

static int hex4(const char *p, unsigned long *v) {
  char tmp[5];
  memcpy(tmp, p, 4);
  tmp[4] = 0;
  char *end;
  *v = strtoul(tmp, &end, 16);
  return *end == 0 && strlen(tmp) == 4 ? 0 : -1;
}

/* Parses a JSON string at *pp (at its opening quote) into out (UTF-8). */
static int json_parse_string(const char **pp, buf_t *out) {
  const char *p = *pp + 1;
  buf_add(out, "", 0);
  for (;;) {
    unsigned char c = (unsigned char)*p;
    if (c == 0 || c < 0x20) return -1;
    if (c == '"') break;
    if (c != '\\') {
      buf_add(out, p, 1);
      p++;
      continue;
    }
    p++;
    switch (*p) {
      case '"': buf_add(out, "\"", 1); break;
      case '\\': buf_add(out, "\\", 1); break;
      case '/': buf_add(out, "/", 1); break;
      case 'b': buf_add(out, "\b", 1); break;
      case 'f': buf_add(out, "\f", 1); break;
      case 'n': buf_add(out, "\n", 1); break;
      case 'r': buf_add(out, "\r", 1); break;
      case 't': buf_add(out, "\t", 1); break;
      case 'u': {
        unsigned long cp, lo;
        if (hex4(p + 1, &cp) != 0) return -1;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &lo) == 0 &&
            lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        utf8_put(out, cp);
        break;
      }
      default: return -1;
    }
    p++;
  }
  *pp = p + 1;
  return out->failed ? -1 : 0;
}

typedef struct {
  const char *name; /* JSON member wanted */
  buf_t value;      /* its text (strings decoded, numbers as written) */
  int found;
} field_t;

/* Parses a flat JSON object, keeping the wanted members; nested values are skipped. */
static int json_parse_object(const char *p, field_t *fields, int nfields) {
  p = json_ws(p);
  if (*p != '{') return -1;
  p = json_ws(p + 1);
  if (*p == '}') return 0;
  for (;;) {
    if (*p != '"') return -1;
    buf_t key = {0};
    if (json_parse_string(&p, &key) != 0) {
      buf_free(&key);
      return -1;
    }
    field_t *f = NULL;
    for (int i = 0; i < nfields; i++)
      if (strcmp(fields[i].name, key.p) == 0) f = &fields[i];
    buf_free(&key);
    p = json_ws(p);
    if (*p != ':') return -1;
    p = json_ws(p + 1);
    if (*p == '"') {
      buf_t v = {0};
      if (json_parse_string(&p, &v) != 0) {
        buf_free(&v);
        return -1;
      }
      if (f) {
        buf_free(&f->value);
        f->value = v;
        f->found = 1;
      } else {
        buf_free(&v);
      }
    } else if (*p == '{' || *p == '[') {
      int depth = 0, in_str = 0;
      for (; *p; p++) {
        if (in_str) {
          if (*p == '\\' && p[1]) p++;
          else if (*p == '"') in_str = 0;
        } else if (*p == '"') in_str = 1;
        else if (*p == '{' || *p == '[') depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0) {
          p++;
          break;
        }
      }
      if (depth != 0) return -1;
    } else {
      const char *start = p;
      while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\r' && *p != '\n' && *p != '\t') p++;
      if (p == start) return -1;
      if (f) {
        buf_free(&f->value);
        buf_add(&f->value, start, (size_t)(p - start));
        f->found = 1;
      }
    }
    p = json_ws(p);
    if (*p == ',') {
      p = json_ws(p + 1);
      continue;
    }
    if (*p == '}') return 0;
    return -1;
  }
}

/* ---------------------------------------------------------------- one call */

typedef struct {
  const char *function;
  int retry_safe; /* a read: may be resent when a kept-alive connection turned out closed */
  buf_t body;
  long error; /* an input error found while building the body */
  char message[400];
} call_t;

static void call_begin(call_t *c, const char *function, int retry_safe) {
  memset(c, 0, sizeof *c);
  c->function = function;
  c->retry_safe = retry_safe;
  buf_str(&c->body, "{\"function\":");
  json_string(&c->body, function);
}

static void call_int(call_t *c, const char *name, long v) {
  buf_str(&c->body, ",");
  json_string(&c->body, name);
  buf_fmt(&c->body, ":%ld", v);
}

/* A string input in the caller's charset. Called under the lock (uses the converter). */
static void call_str(call_t *c, const char *name, const char *v) {
  buf_str(&c->body, ",");
  json_string(&c->body, name);
  buf_str(&c->body, ":");
  buf_t utf8 = {0};
  if (v && convert(g_from_caller, v, &utf8) != 0) {
    if (!c->error) {
      c->error = E_CHARSET;
      snprintf(c->message, sizeof c->message, "参数 %s 不是有效的 %s 文本 (%s is not valid %s text)", name,
               g_charset, name, g_charset);
    }
  }
  json_string(&c->body, utf8.p ? utf8.p : "");
  buf_free(&utf8);
}

typedef struct {
  const char *name;
  char *dest;
} output_t;

/* Writes text (UTF-8) into dest in the caller's charset; 0, or the code of the failure. */
static long write_output(char *dest, const char *text, size_t limit) {
  if (!dest) return 0;
  buf_t out = {0};
  if (convert(g_to_caller, text ? text : "", &out) != 0) {
    /* A character the caller's charset lacks: fail clearly rather than write half a field. */
    buf_free(&out);
    dest[0] = 0;
    return E_CHARSET;
  }
  if (out.len + 1 > limit) {
    buf_free(&out);
    dest[0] = 0;
    return E_LENGTH;
  }
  memcpy(dest, out.p ? out.p : "", out.len + 1);
  buf_free(&out);
  return 0;
}

/* Writes a message (UTF-8) into the first output, cut to fit, for a failure of the library. */
static void write_message(output_t *outs, int nouts, const char *msg, size_t limit) {
  for (int i = 0; i < nouts; i++)
    if (outs[i].dest) outs[i].dest[0] = 0;
  if (nouts == 0 || !outs[0].dest) return;
  buf_t out = {0};
  if (g_to_caller == (iconv_t)-1 || convert(g_to_caller, msg, &out) != 0) {
    buf_free(&out);
    buf_str(&out, "");
    /* the ASCII part of the message is always representable */
    for (const char *p = msg; *p; p++)
      if ((unsigned char)*p < 0x80) buf_add(&out, p, 1);
  }
  size_t n = out.len < limit ? out.len : limit - 1;
  memcpy(outs[0].dest, out.p ? out.p : "", n);
  outs[0].dest[n] = 0;
  buf_free(&out);
}

static long call_finish(call_t *c, output_t *outs, int nouts) {
  size_t limit = (size_t)env_long("SSCARD_DRIVER_OUTBUF_SIZE", 1024, 16, 1 << 24);
  long timeout_s = env_long("SSCARD_DRIVER_TIMEOUT", 120, 1, 86400);
  long code;
  buf_t req = {0}, body = {0};
  field_t fields[5] = {{"success", {0}, 0}, {NULL, {0}, 0}, {NULL, {0}, 0}, {NULL, {0}, 0}, {NULL, {0}, 0}};
  int nfields = 1;
  for (int i = 0; i < nouts && nfields < 5; i++) fields[nfields++].name = outs[i].name;

  if (c->error) {
    write_message(outs, nouts, c->message, limit);
    code = c->error;
    goto done;
  }
  buf_str(&c->body, "}");
  if (c->body.failed) {
    write_message(outs, nouts, "out of memory", limit);
    code = E_PARAM;
    goto done;
  }
  buf_fmt(&req, "POST %s/api/%s HTTP/1.1\r\nHost: %s\r\n", g_prefix, c->function, g_hosthdr);
  buf_fmt(&req, "Content-Type: application/json; charset=utf-8\r\nContent-Length: %zu\r\n", c->body.len);
  buf_str(&req, "Connection: keep-alive\r\nUser-Agent: libSSCardDriver\r\n\r\n");
  buf_add(&req, c->body.p, c->body.len);

  long long deadline = now_ms() + timeout_s * 1000;
  char err[400] = "";
  int status = -1, close_after = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    int reused = g_fd >= 0;
    if (reused && connection_stale()) {
      drop_connection();
      reused = 0;
    }
    if (g_fd < 0 && connect_service(err, sizeof err) != 0) break;
    buf_free(&body);
    status = exchange(&req, &body, deadline, &close_after);
    if (status > 0) break;
    int saved = errno;
    drop_connection();
    /* A kept-alive connection closed under us before any answer: the service did not take
       the request, or (rarely) took it and closed; only reads are sent again. */
    if (status == 0 && reused && c->retry_safe) continue;
    snprintf(err, sizeof err, "读卡服务无应答 the SSCard reader service at %.200s %s (%s)", g_url,
             status == 0 ? "closed the connection" : "did not answer in time or broke the answer",
             strerror(status == 0 ? ECONNRESET : saved));
    status = -1;
    break;
  }
  if (status <= 0) {
    write_message(outs, nouts, err, limit);
    code = E_CONNECT;
    goto done;
  }
  if (close_after) drop_connection();
  if (json_parse_object(body.p ? body.p : "", fields, nfields) != 0 || !fields[0].found) {
    char msg[400];
    snprintf(msg, sizeof msg, "读卡服务应答无效 the service at %.200s answered HTTP %d without an interface result", g_url,
             status);
    write_message(outs, nouts, msg, limit);
    code = status == 404 ? E_CONNECT : E_CHECK;
    goto done;
  }
  {
    const char *s = fields[0].value.p ? fields[0].value.p : "";
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == 0 || *end != 0) {
      write_message(outs, nouts, "读卡服务应答无效 the service's success field is not a number", limit);
      code = E_CHECK;
      goto done;
    }
    code = n == 1 ? 0 : n;
  }
  for (int i = 0; i < nouts; i++) {
    const field_t *f = &fields[i + 1];
    long w = write_output(outs[i].dest, f->found && f->value.p ? f->value.p : "", limit);
    if (w != 0) {
      for (int j = 0; j < nouts; j++)
        if (outs[j].dest) outs[j].dest[0] = 0;
      code = w;
      break;
    }
  }
done:
  for (int i = 0; i < 5; i++) buf_free(&fields[i].value);
  buf_free(&req);
  buf_free(&body);
  buf_free(&c->body);
  return code;
}

/*
 * Locks, applies the settings, runs the body (which adds the parameters and finishes the call),
 * unlocks. A settings error answers -11 with its message in the first output.
 */
#define CALL(FN, RETRY, OUTS, PARAMS)                                               \
  do {                                                                              \
    output_t outs_[] = OUTS;                                                        \
    int nouts_ = (int)(sizeof outs_ / sizeof outs_[0]);                             \
    pthread_mutex_lock(&g_lock);                                                    \
    char err_[300];                                                                 \
    long rc_;                                                                       \
    if (configure(err_, sizeof err_) != 0) {                                        \
      write_message(outs_, nouts_, err_, (size_t)env_long("SSCARD_DRIVER_OUTBUF_SIZE", 1024, 16, 1 << 24)); \
      rc_ = E_CONNECT;                                                              \
    } else {                                                                        \
      call_t c_;                                                                    \
      call_begin(&c_, FN, RETRY);                                                   \
      PARAMS;                                                                       \
      rc_ = call_finish(&c_, outs_, nouts_);                                        \
    }                                                                               \
    pthread_mutex_unlock(&g_lock);                                                  \
    return rc_;                                                                     \
  } while (0)

#define OUT1(a) {{"pOutInfo", a}}
#define READ 1
#define WRITE 0

/* ---------------------------------------------------------------- the interface */

EXPORT long iReadCardBas(int iType, char *pOutInfo) {
  CALL("iReadCardBas", READ, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

EXPORT long iReadCardBas_HSM_Step1(int iType, char *pOutInfo) {
  CALL("iReadCardBas_HSM_Step1", READ, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

EXPORT long iReadCardBas_HSM_Step2(char *pKey, char *pOutInfo) {
  CALL("iReadCardBas_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));
}

EXPORT long iReadCard(int iType, int iAuthType, char *pCardInfo, char *pFileAddr, char *pOutInfo) {
  CALL("iReadCard", READ, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_int(&c_, "iAuthType", iAuthType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
  });
}

EXPORT long iReadCard_HSM_Step1(int iType, char *pCardInfo, char *pFileAddr, char *pOutInfo) {
  CALL("iReadCard_HSM_Step1", READ, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
  });
}

EXPORT long iReadCard_HSM_Step2(char *pKey, char *pOutInfo) {
  CALL("iReadCard_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));
}

EXPORT long iWriteCard(int iType, char *pCardInfo, char *pFileAddr, char *pWriteData, char *pOutInfo) {
  CALL("iWriteCard", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
    call_str(&c_, "pWriteData", pWriteData);
  });
}

EXPORT long iWriteCard_HSM_Step1(int iType, char *pCardInfo, char *pFileAddr, char *pOutInfo) {
  CALL("iWriteCard_HSM_Step1", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pFileAddr", pFileAddr);
  });
}

EXPORT long iWriteCard_HSM_Step2(char *pKey, char *pWriteData, char *pOutInfo) {
  CALL("iWriteCard_HSM_Step2", WRITE, OUT1(pOutInfo), {
    call_str(&c_, "pKey", pKey);
    call_str(&c_, "pWriteData", pWriteData);
  });
}

EXPORT long iVerifyPIN(int iType, char *pOutInfo) {
  CALL("iVerifyPIN", WRITE, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

EXPORT long iChangePIN(int iType, char *pOutInfo) {
  CALL("iChangePIN", WRITE, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

#define PIN_SERVICE(NAME)                                                          \
  EXPORT long NAME(int iType, char *pCardInfo, char *pOutInfo) {                   \
    CALL(#NAME, WRITE, OUT1(pOutInfo), {                                           \
      call_int(&c_, "iType", iType);                                               \
      call_str(&c_, "pCardInfo", pCardInfo);                                       \
    });                                                                            \
  }                                                                                \
  EXPORT long NAME##_HSM_Step1(int iType, char *pCardInfo, char *pOutInfo) {       \
    CALL(#NAME "_HSM_Step1", READ, OUT1(pOutInfo), {                               \
      call_int(&c_, "iType", iType);                                               \
      call_str(&c_, "pCardInfo", pCardInfo);                                       \
    });                                                                            \
  }                                                                                \
  EXPORT long NAME##_HSM_Step2(char *pKey, char *pOutInfo) {                       \
    CALL(#NAME "_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));  \
  }                                                                                \
  EXPORT long NAME##_HSM_Step3(char *pKey, char *pOutInfo) {                       \
    CALL(#NAME "_HSM_Step3", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));  \
  }

PIN_SERVICE(iReloadPIN)
PIN_SERVICE(iUnblockPIN)

EXPORT long iDoDebit(int iType, char *pCardInfo, char *pPayInfo, char *pOutInfo) {
  CALL("iDoDebit", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pPayInfo", pPayInfo);
  });
}

EXPORT long iDoDebit_HSM_Step1(int iType, char *pCardInfo, char *pPayInfo, char *pOutInfo) {
  CALL("iDoDebit_HSM_Step1", WRITE, OUT1(pOutInfo), {
    call_int(&c_, "iType", iType);
    call_str(&c_, "pCardInfo", pCardInfo);
    call_str(&c_, "pPayInfo", pPayInfo);
  });
}

EXPORT long iDoDebit_HSM_Step2(char *pKey, char *pOutInfo) {
  CALL("iDoDebit_HSM_Step2", WRITE, OUT1(pOutInfo), call_str(&c_, "pKey", pKey));
}

EXPORT long iReadDebitRecord(int iType, char *pOutInfo) {
  CALL("iReadDebitRecord", READ, OUT1(pOutInfo), call_int(&c_, "iType", iType));
}

#define OUT2(n1, a, n2, b) {{n1, a}, {n2, b}}

EXPORT long iGetCardType(unsigned char *pCardType, char *pOutInfo) {
  CALL("iGetCardType", READ, OUT2("pCardType", (char *)pCardType, "pOutInfo", pOutInfo), (void)0);
}

EXPORT long iGetReaderInfo(char *pReaderSN, char *pPsamTermNo) {
  CALL("iGetReaderInfo", READ, OUT2("pReaderSN", pReaderSN, "pPsamTermNo", pPsamTermNo), (void)0);
}
