/* JSON responses and request parsing, shared by both modes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

void respond_json(h2o_req_t* req, int status, json_t* body) {
  char* text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (text == NULL) { /* out of memory */
    status = 500;
    text = strdup("{\"error\":\"out of memory\"}");
  }
  req->res.status = status;
  req->res.reason = reason(status);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                 NULL, H2O_STRLIT("application/json"));
  if (text != NULL) {
    req->res.content_length = strlen(text);
    h2o_send_inline(req, text, strlen(text)); /* copies */
    free(text);
  } else {
    h2o_send_inline(req, "", 0);
  }
}

void respond_error(h2o_req_t* req, int status, const char* message) {
  respond_json(req, status, json_pack("{ss}", "error", message));
}

void respond_db_error(h2o_req_t* req, int status, const char* sqlstate) {
  if (status == UV_ETIMEDOUT || status == UVODBC_ECLOSED ||
      status == UV_ECANCELED) {
    respond_error(req, 503, "database unavailable");
  } else if (sqlstate != NULL && strncmp(sqlstate, "23", 2) == 0) {
    respond_json(req, 409, json_pack("{ssss}", "error", "conflict",
                                     "sqlstate", sqlstate));
  } else if (sqlstate != NULL && sqlstate[0] != '\0') {
    respond_json(req, 500, json_pack("{ssss}", "error", "database error",
                                     "sqlstate", sqlstate));
  } else {
    /* uvodbc's error names carry no secret either. */
    respond_json(req, 500, json_pack("{ssss}", "error", "database error",
                                     "code", uvodbc_err_name(status)));
  }
}

int parse_item(const h2o_iovec_t* body, json_t** root, item_t* item,
               const char** why) {
  json_error_t err;
  json_t *id, *name, *qty;
  *root = NULL;
  if (body->base == NULL || body->len == 0) {
    *why = "missing body";
    return -1;
  }
  *root = json_loadb(body->base, body->len, 0, &err);
  if (*root == NULL || !json_is_object(*root)) {
    *why = "body is not a JSON object";
    return -1;
  }
  id = json_object_get(*root, "id");
  name = json_object_get(*root, "name");
  qty = json_object_get(*root, "qty");
  if (!json_is_integer(id)) {
    *why = "\"id\" must be an integer";
    return -1;
  }
  if (!json_is_string(name) || json_string_length(name) == 0 ||
      json_string_length(name) > 200) {
    *why = "\"name\" must be a string of 1 to 200 bytes";
    return -1;
  }
  if (qty != NULL && !json_is_null(qty) && !json_is_integer(qty)) {
    *why = "\"qty\" must be an integer or null";
    return -1;
  }
  item->id = json_integer_value(id);
  item->name = json_string_value(name);
  item->name_len = json_string_length(name);
  item->has_qty = json_is_integer(qty);
  item->qty = item->has_qty ? json_integer_value(qty) : 0;
  return 0;
}

json_t* item_json(int64_t id, const char* name, size_t name_len,
                  int has_qty, int64_t qty) {
  return json_pack("{sIss#so}", "id", (json_int_t)id, "name", name,
                   name_len, "qty",
                   has_qty ? json_integer(qty) : json_null());
}

long parse_limit(const h2o_req_t* req) {
  const char *q, *end, *p;
  char buf[24];
  size_t n;
  long v;
  char* stop;
  if (req->query_at == SIZE_MAX) return LIST_DEFAULT;
  q = req->path.base + req->query_at + 1;
  end = req->path.base + req->path.len;
  for (p = q; p < end;) { /* key=value&key=value */
    const char* amp = memchr(p, '&', (size_t)(end - p));
    const char* stop_at = amp != NULL ? amp : end;
    if ((size_t)(stop_at - p) >= 6 && memcmp(p, "limit=", 6) == 0) {
      n = (size_t)(stop_at - p) - 6;
      if (n == 0 || n >= sizeof(buf)) return -1;
      memcpy(buf, p + 6, n);
      buf[n] = '\0';
      errno = 0;
      v = strtol(buf, &stop, 10);
      if (errno != 0 || *stop != '\0' || v < 0 || v > LIST_MAX) return -1;
      return v;
    }
    p = stop_at + 1;
  }
  return LIST_DEFAULT;
}
