/* One value of a result, as text ready for any output format.  Binary is
 * lowercase hex; dates ISO 8601; doubles the shortest text that reads back
 * as the same double. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_row_init(cli_row_t* row, size_t ncols) {
  row->ncols = ncols;
  row->cells = calloc(ncols ? ncols : 1, sizeof(*row->cells));
  row->buf = calloc(ncols ? ncols : 1, sizeof(*row->buf));
  row->cap = calloc(ncols ? ncols : 1, sizeof(*row->cap));
  if (row->cells == NULL || row->buf == NULL || row->cap == NULL) {
    cli_row_free(row);
    return UV_ENOMEM;
  }
  return 0;
}

void cli_row_free(cli_row_t* row) {
  if (row->buf != NULL)
    for (size_t i = 0; i < row->ncols; i++) free(row->buf[i]);
  free(row->cells);
  free(row->buf);
  free(row->cap);
  memset(row, 0, sizeof(*row));
}

static char* scratch(cli_row_t* row, size_t col, size_t need) {
  if (row->cap[col] < need) {
    size_t cap = need < 64 ? 64 : need;
    char* p = realloc(row->buf[col], cap);
    if (p == NULL) return NULL;
    row->buf[col] = p;
    row->cap[col] = cap;
  }
  return row->buf[col];
}

/* Shortest %.Ng (N <= 17) that reads back as the same double. */
static int format_double(char* buf, size_t size, double v) {
  int n = 0;
  for (int prec = 1; prec <= 17; prec++) {
    n = snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return n;
}

static void set_text(cli_cell_t* cell, const char* s, size_t len) {
  cell->kind = CLI_CELL_TEXT;
  cell->s = s;
  cell->len = len;
}

/* "YYYY-MM-DD", "HH:MM:SS[.fraction]" or both, fraction without trailing
 * zeros. */
static int format_datetime(char* buf, size_t size, uvodbc_type_t type,
                           const uvodbc_timestamp_t* ts) {
  int n = 0;
  if (type != UVODBC_TYPE_TIME)
    n += snprintf(buf + n, size - n, "%04d-%02u-%02u", ts->year, ts->month,
                  ts->day);
  if (type == UVODBC_TYPE_DATE) return n;
  if (type == UVODBC_TYPE_TIMESTAMP) buf[n++] = ' ';
  n += snprintf(buf + n, size - n, "%02u:%02u:%02u", ts->hour, ts->minute,
                ts->second);
  if (ts->nanosecond != 0) {
    char frac[16];
    snprintf(frac, sizeof(frac), "%09u", (unsigned)ts->nanosecond);
    size_t len = strlen(frac);
    while (len > 0 && frac[len - 1] == '0') len--;
    n += snprintf(buf + n, size - n, ".%.*s", (int)len, frac);
  }
  return n;
}

int cli_row_from_batch(cli_row_t* row, const uvodbc_batch_t* batch,
                       size_t r) {
  static const char hex[] = "0123456789abcdef";
  for (size_t c = 0; c < row->ncols; c++) {
    cli_cell_t* cell = &row->cells[c];
    const uvodbc_column_t* col = uvodbc_batch_column(batch, c);
    memset(cell, 0, sizeof(*cell));
    if (uvodbc_batch_is_null(batch, c, r) != 0) {
      cell->kind = CLI_CELL_NULL;
      cell->s = "";
      continue;
    }
    char* buf = scratch(row, c, 64);
    if (buf == NULL) return UV_ENOMEM;
    switch (col->type) {
      case UVODBC_TYPE_INT64:
        uvodbc_batch_get_int64(batch, c, r, &cell->integer);
        cell->kind = CLI_CELL_NUMBER;
        cell->s = buf;
        cell->len = (size_t)snprintf(buf, 64, "%" PRId64, cell->integer);
        break;
      case UVODBC_TYPE_DOUBLE:
        uvodbc_batch_get_double(batch, c, r, &cell->real);
        cell->kind = CLI_CELL_NUMBER;
        cell->is_real = 1;
        cell->s = buf;
        cell->len = (size_t)format_double(buf, 64, cell->real);
        break;
      case UVODBC_TYPE_BOOL:
        uvodbc_batch_get_bool(batch, c, r, &cell->boolean);
        cell->kind = CLI_CELL_BOOL;
        cell->s = cell->boolean ? "true" : "false";
        cell->len = strlen(cell->s);
        break;
      case UVODBC_TYPE_DATE:
      case UVODBC_TYPE_TIME:
      case UVODBC_TYPE_TIMESTAMP: {
        uvodbc_timestamp_t ts;
        uvodbc_batch_get_timestamp(batch, c, r, &ts);
        set_text(cell, buf, (size_t)format_datetime(buf, 64, col->type, &ts));
        break;
      }
      case UVODBC_TYPE_BINARY: {
        const unsigned char* p;
        size_t len;
        uvodbc_batch_get_binary(batch, c, r, (const void**)&p, &len);
        buf = scratch(row, c, 2 * len + 1);
        if (buf == NULL) return UV_ENOMEM;
        for (size_t i = 0; i < len; i++) {
          buf[2 * i] = hex[p[i] >> 4];
          buf[2 * i + 1] = hex[p[i] & 15];
        }
        buf[2 * len] = '\0';
        set_text(cell, buf, 2 * len);
        break;
      }
      default: { /* TEXT, DECIMAL */
        const char* s;
        size_t len;
        if (uvodbc_batch_get_text(batch, c, r, &s, &len) != 0) {
          s = "";
          len = 0;
        }
        set_text(cell, s, len);
        break;
      }
    }
  }
  return 0;
}

void cli_cell_text(cli_cell_t* cell, const char* s) {
  memset(cell, 0, sizeof(*cell));
  set_text(cell, s, strlen(s));
}

void cli_cell_int(cli_cell_t* cell, char* buf, size_t size, int64_t v) {
  memset(cell, 0, sizeof(*cell));
  cell->kind = CLI_CELL_NUMBER;
  cell->integer = v;
  cell->s = buf;
  cell->len = (size_t)snprintf(buf, size, "%" PRId64, v);
}
