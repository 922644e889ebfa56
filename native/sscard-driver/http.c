/* libSSCardDriver.so: the kept-alive HTTP/1.1 connection to the reader service, over a POSIX socket. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int g_fd = -1;
char g_url[512];
static char g_host[256], g_port[8]; /* parsed from the URL */
char g_prefix[256];
char g_hosthdr[300];

void drop_connection(void) {
  if (g_fd >= 0) close(g_fd);
  g_fd = -1;
}

/* Parses http://host[:port][/prefix]; 0 on success. */
int parse_url(const char *url, char *err, size_t errlen) {
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


/* ---------------------------------------------------------------- the connection */

int connect_service(char *err, size_t errlen) {
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
int connection_stale(void) {
  struct pollfd p = {g_fd, POLLIN, 0};
  if (poll(&p, 1, 0) == 0) return 0;
  char c;
  ssize_t n = recv(g_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

long long now_ms(void) {
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
int exchange(const buf_t *req, buf_t *body, long long deadline, int *close_after) {
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

