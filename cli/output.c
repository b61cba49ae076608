/* Output formats: aligned table, CSV (RFC 4180), JSON (one array of
 * objects) and JSON lines, written row by row as batches arrive.
 *
 * The table is the only one that holds rows: one batch at a time, to
 * measure its columns.  Widths never shrink; when a later batch widens a
 * column, the header is printed again above that batch. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct table_cell_s {
  char* s;      /* display form, control characters escaped */
  size_t width; /* in code points                           */
  int right;    /* numbers are right-aligned                */
} table_cell_t;

struct cli_out_s {
  cli_format_t format;
  FILE* f;
  size_t ncols;
  char** names;
  uint64_t rows;
  int began;
  /* table */
  table_cell_t* held; /* nheld rows of ncols cells */
  size_t nheld, capheld;
  size_t* width;
  int header_printed;
};

cli_out_t* cli_out_new(cli_format_t format, FILE* f) {
  cli_out_t* out = calloc(1, sizeof(*out));
  if (out == NULL) return NULL;
  out->format = format;
  out->f = f;
  return out;
}

static void free_held(cli_out_t* out) {
  for (size_t i = 0; i < out->nheld * out->ncols; i++) free(out->held[i].s);
  out->nheld = 0;
}

static void free_columns(cli_out_t* out) {
  free_held(out);
  for (size_t i = 0; i < out->ncols; i++) free(out->names[i]);
  free(out->names);
  free(out->held);
  free(out->width);
  out->names = NULL;
  out->held = NULL;
  out->width = NULL;
  out->capheld = 0;
  out->ncols = 0;
}

void cli_out_free(cli_out_t* out) {
  if (out == NULL) return;
  free_columns(out);
  free(out);
}

uint64_t cli_out_rows(const cli_out_t* out) { return out->rows; }

/* ---- CSV ----------------------------------------------------------- */

static void csv_field(FILE* f, const char* s, size_t len, int quote_empty) {
  int quote = len == 0 && quote_empty;
  for (size_t i = 0; i < len && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
  if (!quote) {
    fwrite(s, 1, len, f);
    return;
  }
  fputc('"', f);
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') fputc('"', f);
    fputc(s[i], f);
  }
  fputc('"', f);
}

/* ---- JSON ---------------------------------------------------------- */

/* Digits a double needs to read back as itself (%.Ng). */
static int real_precision(double v) {
  char buf[40];
  for (int prec = 1; prec < 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return prec;
  }
  return 17;
}

static json_t* json_cell(const cli_cell_t* c) {
  switch (c->kind) {
    case CLI_CELL_NULL:
      return json_null();
    case CLI_CELL_BOOL:
      return json_boolean(c->boolean);
    case CLI_CELL_NUMBER:
      return c->is_real ? json_real(c->real) : json_integer(c->integer);
    default: {
      json_t* j = json_stringn(c->s, c->len);
      /* Not UTF-8 (a driver's bytes): kept as they are rather than lost. */
      return j != NULL ? j : json_stringn_nocheck(c->s, c->len);
    }
  }
}

static int json_row(cli_out_t* out, const cli_cell_t* cells) {
  json_t* obj = json_object();
  int prec = 1;
  if (obj == NULL) return UV_ENOMEM;
  for (size_t i = 0; i < out->ncols; i++) {
    if (cells[i].kind == CLI_CELL_NUMBER && cells[i].is_real) {
      int p = real_precision(cells[i].real);
      if (p > prec) prec = p;
    }
    json_t* v = json_cell(&cells[i]);
    if (v == NULL || json_object_set_new_nocheck(obj, out->names[i], v)) {
      json_decref(obj);
      return UV_ENOMEM;
    }
  }
  if (out->format == CLI_FORMAT_JSON) fputs(out->rows == 0 ? "[\n" : ",\n", out->f);
  int rc = json_dumpf(obj, out->f,
                      JSON_COMPACT | JSON_PRESERVE_ORDER |
                          JSON_REAL_PRECISION(prec) | JSON_ENCODE_ANY);
  json_decref(obj);
  if (out->format == CLI_FORMAT_JSONL) fputc('\n', out->f);
  return rc == 0 ? 0 : UV_EIO;
}

/* ---- table --------------------------------------------------------- */

static size_t utf8_width(const char* s, size_t len) {
  size_t w = 0;
  for (size_t i = 0; i < len; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
  return w;
}

/* Newlines, tabs and other control characters as escapes, so that one
 * row stays one line. */
static char* table_text(const char* s, size_t len) {
  char* d = malloc(4 * len + 1);
  size_t n = 0;
  if (d == NULL) return NULL;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '\n') { d[n++] = '\\'; d[n++] = 'n'; }
    else if (ch == '\r') { d[n++] = '\\'; d[n++] = 'r'; }
    else if (ch == '\t') { d[n++] = '\\'; d[n++] = 't'; }
    else if (ch < 0x20 || ch == 0x7f) n += (size_t)sprintf(d + n, "\\x%02x", ch);
    else d[n++] = (char)ch;
  }
  d[n] = '\0';
  return d;
}

static void pad(FILE* f, size_t n) {
  while (n-- > 0) fputc(' ', f);
}

static void table_line(cli_out_t* out, const table_cell_t* row) {
  for (size_t i = 0; i < out->ncols; i++) {
    size_t gap = out->width[i] - row[i].width;
    fputs(i == 0 ? " " : " | ", out->f);
    if (row[i].right) pad(out->f, gap);
    fputs(row[i].s, out->f);
    if (!row[i].right && i + 1 < out->ncols) pad(out->f, gap);
  }
  fputc('\n', out->f);
}

static void table_header(cli_out_t* out) {
  for (size_t i = 0; i < out->ncols; i++) {
    size_t w = utf8_width(out->names[i], strlen(out->names[i]));
    size_t left = (out->width[i] - w) / 2;
    fputs(i == 0 ? " " : " | ", out->f);
    pad(out->f, left);
    fputs(out->names[i], out->f);
    if (i + 1 < out->ncols) pad(out->f, out->width[i] - w - left);
  }
  fputc('\n', out->f);
  for (size_t i = 0; i < out->ncols; i++) {
    if (i > 0) fputc('+', out->f);
    for (size_t k = 0; k < out->width[i] + 2; k++) fputc('-', out->f);
  }
  fputc('\n', out->f);
}

static int table_hold(cli_out_t* out, const cli_cell_t* cells) {
  if (out->nheld == out->capheld) {
    size_t cap = out->capheld ? 2 * out->capheld : 256;
    table_cell_t* p = realloc(out->held, cap * out->ncols * sizeof(*p));
    if (p == NULL) return UV_ENOMEM;
    out->held = p;
    out->capheld = cap;
  }
  table_cell_t* row = out->held + out->nheld * out->ncols;
  for (size_t i = 0; i < out->ncols; i++) {
    row[i].s = table_text(cells[i].s, cells[i].len);
    if (row[i].s == NULL) {
      for (size_t k = 0; k < i; k++) free(row[k].s);
      return UV_ENOMEM;
    }
    row[i].width = utf8_width(row[i].s, strlen(row[i].s));
    row[i].right = cells[i].kind == CLI_CELL_NUMBER;
  }
  out->nheld++;
  return 0;
}

static void table_flush(cli_out_t* out) {
  int wider = 0;
  for (size_t r = 0; r < out->nheld; r++)
    for (size_t i = 0; i < out->ncols; i++) {
      size_t w = out->held[r * out->ncols + i].width;
      if (w > out->width[i]) {
        out->width[i] = w;
        wider = 1;
      }
    }
  if (!out->header_printed || (wider && out->nheld > 0)) {
    table_header(out);
    out->header_printed = 1;
  }
  for (size_t r = 0; r < out->nheld; r++)
    table_line(out, out->held + r * out->ncols);
  free_held(out);
}

/* ---- the interface ------------------------------------------------- */

int cli_out_begin(cli_out_t* out, size_t ncols, const char* const* names) {
  free_columns(out);
  out->rows = 0;
  out->began = 1;
  out->header_printed = 0;
  out->names = calloc(ncols ? ncols : 1, sizeof(*out->names));
  out->width = calloc(ncols ? ncols : 1, sizeof(*out->width));
  if (out->names == NULL || out->width == NULL) return UV_ENOMEM;
  out->ncols = ncols;
  for (size_t i = 0; i < ncols; i++) {
    out->names[i] = strdup(names[i] ? names[i] : "");
    if (out->names[i] == NULL) return UV_ENOMEM;
    out->width[i] = utf8_width(out->names[i], strlen(out->names[i]));
  }
  if (out->format == CLI_FORMAT_CSV) {
    for (size_t i = 0; i < ncols; i++) {
      if (i > 0) fputc(',', out->f);
      csv_field(out->f, out->names[i], strlen(out->names[i]), 0);
    }
    fputs("\r\n", out->f);
  }
  return 0;
}

int cli_out_row(cli_out_t* out, const cli_cell_t* cells) {
  int rc = 0;
  switch (out->format) {
    case CLI_FORMAT_CSV:
      for (size_t i = 0; i < out->ncols; i++) {
        if (i > 0) fputc(',', out->f);
        /* NULL: empty and unquoted; an empty string: "". */
        csv_field(out->f, cells[i].s, cells[i].len,
                  cells[i].kind != CLI_CELL_NULL);
      }
      fputs("\r\n", out->f);
      break;
    case CLI_FORMAT_JSON:
    case CLI_FORMAT_JSONL:
      rc = json_row(out, cells);
      break;
    default:
      rc = table_hold(out, cells);
      break;
  }
  if (rc == 0) out->rows++;
  return rc;
}

int cli_out_flush(cli_out_t* out) {
  if (out->format == CLI_FORMAT_TABLE) table_flush(out);
  return ferror(out->f) ? UV_EIO : 0;
}

int cli_out_end(cli_out_t* out) {
  if (!out->began) return 0;
  switch (out->format) {
    case CLI_FORMAT_JSON:
      fputs(out->rows == 0 ? "[]\n" : "\n]\n", out->f);
      break;
    case CLI_FORMAT_TABLE:
      table_flush(out);
      fprintf(out->f, "(%llu row%s)\n", (unsigned long long)out->rows,
              out->rows == 1 ? "" : "s");
      break;
    default:
      break;
  }
  out->began = 0;
  if (fflush(out->f) != 0 || ferror(out->f)) return UV_EIO;
  return 0;
}
