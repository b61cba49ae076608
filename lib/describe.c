/* Diagnostics as text: what every program prints when a request fails,
 * written once here. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* snprintf that appends at *len and keeps counting past the end of buf. */
static void append(char* buf, size_t size, size_t* len, const char* fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void append(char* buf, size_t size, size_t* len, const char* fmt,
                   ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0,
                fmt, ap);
  va_end(ap);
  if (n > 0) *len += (size_t)n;
}

size_t uvodbc_diag_format(const uvodbc_diag_t* diag, size_t n, char* buf,
                          size_t size) {
  size_t len = 0, i, j, from;
  if (buf != NULL && size > 0) buf[0] = '\0';
  if (buf == NULL) size = 0;
  for (i = 0; diag != NULL && i < n; i++) {
    append(buf, size, &len, "%s[%s] %d %s: ", i > 0 ? "\n" : "",
           diag[i].sqlstate, (int)diag[i].native,
           diag[i].function != NULL ? diag[i].function : "?");
    from = len;
    append(buf, size, &len, "%s",
           diag[i].message != NULL ? diag[i].message : "");
    /* One line per record, whatever the driver's message holds. */
    for (j = from; j < len && j + 1 < size; j++)
      if (buf[j] == '\n' || buf[j] == '\r') buf[j] = ' ';
  }
  return len;
}

size_t uvodbc_req_describe(const uvodbc_req_t* req, char* buf, size_t size) {
  size_t len = 0;
  if (buf != NULL && size > 0) buf[0] = '\0';
  if (buf == NULL) size = 0;
  if (req == NULL) return 0;
  append(buf, size, &len, "%s: %s", uvodbc_err_name(req->status),
         uvodbc_strerror(req->status));
  if (req->ndiag > 0) {
    append(buf, size, &len, "\n");
    len += uvodbc_diag_format(req->diag, req->ndiag,
                              len < size ? buf + len : NULL,
                              len < size ? size - len : 0);
  }
  return len;
}
