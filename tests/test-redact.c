/* Password redaction: only a connect's diagnostics are redacted (the driver
 * may echo the connection string there); the text of every other failing
 * statement is the server's and reaches the application as written, even
 * when it quotes data that looks like "PWD=" or holds the letters of a
 * short password. */
#include <strings.h>

#include "uvodbc-test.h"

/* ";PWD=" 40 times: redacting each empty value to "***" used to grow the
 * text past its buffer.  MariaDB quotes only the first 64 characters of a
 * duplicate entry: PWD_RUN_HEAD of them must come back. */
#define PWD10 "PWD=;PWD=;PWD=;PWD=;PWD=;PWD=;PWD=;PWD=;PWD=;PWD=;"
#define PWD_RUN ";" PWD10 PWD10 PWD10 PWD10
#define PWD_RUN_HEAD ";" PWD10 "PWD=;"

/* A password of one letter, common in messages. */
#define SHORT_PW "e"
#define SHORT_USER "uvodbc_redact"

typedef struct {
  int calls;
  int status;
  size_t ndiag;
  char messages[4096]; /* every diagnostic, one per line */
} diags_t;

static void on_done(uvodbc_req_t* req, int status) {
  diags_t* t = req->data;
  size_t i, used = 0;
  t->calls++;
  t->status = status;
  t->ndiag = req->ndiag;
  t->messages[0] = '\0';
  for (i = 0; i < req->ndiag; i++) {
    ck_assert_ptr_nonnull(req->diag[i].message);
    used += (size_t)snprintf(t->messages + used, sizeof(t->messages) - used,
                             "%s\n", req->diag[i].message);
    if (used >= sizeof(t->messages)) used = sizeof(t->messages) - 1;
  }
  if (req->cursor != NULL) uvodbc_cursor_close(req->cursor, NULL);
}

/* Runs `sql`, which must fail; its diagnostics land in `t`. */
static void exec_failing(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                         const uvodbc_param_t* params, size_t nparams,
                         diags_t* t) {
  uvodbc_req_t req;
  memset(t, 0, sizeof(*t));
  req.data = t;
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &req, sql, params, nparams, NULL, on_done), 0);
  while (t->calls == 0) uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(t->calls, 1);
  ck_assert_msg(t->status == UVODBC_ESQL, "%s: %s", sql,
                uvodbc_err_name(t->status));
  ck_assert_uint_gt(t->ndiag, 0);
}

/* A server error quoting ";PWD=;PWD=;...": kept as the server wrote it, on
 * every driver (each quotes the data in its own error). */
START_TEST(redact_server_text_kept) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("redact_dup");
  char sql[512];
  diags_t d;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  switch (test_driver()) {
    case TEST_SQLITE: /* no such table: ;PWD=;... */
      exec_failing(&loop, conn, "SELECT * FROM \"" PWD_RUN "\"", NULL, 0, &d);
      break;
    case TEST_PG: { /* invalid input syntax for type integer: ";PWD=;..." */
      uvodbc_param_t p = uvodbc_param_text(PWD_RUN, SIZE_MAX);
      exec_failing(&loop, conn, "SELECT CAST(? AS integer)", &p, 1, &d);
      break;
    }
    default: { /* Duplicate entry ';PWD=;...' for key 'PRIMARY' */
      uvodbc_param_t p = uvodbc_param_text(PWD_RUN, SIZE_MAX);
      test_make_table(&loop, conn, t, "v VARCHAR(250) PRIMARY KEY");
      snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (?)", t);
      ck_assert_int_eq(test_exec_params(&loop, conn, sql, &p, 1), 1);
      exec_failing(&loop, conn, sql, &p, 1, &d);
      test_drop_table(&loop, conn, t);
      break;
    }
  }
  ck_assert_msg(strstr(d.messages, test_driver() == TEST_MARIADB
                                       ? PWD_RUN_HEAD
                                       : PWD_RUN) != NULL,
                "server text changed: %s", d.messages);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* test_connstr() with its Uid and Pwd replaced (or added) by `user` and
 * `pw`, and `extra` appended. */
static void with_login(const char* user, const char* pw, const char* extra,
                       char* out, size_t size) {
  const char* p = test_connstr();
  size_t n = 0;
  while (*p != '\0') {
    size_t len = strcspn(p, ";");
    if (strncasecmp(p, "uid=", 4) != 0 && strncasecmp(p, "pwd=", 4) != 0 &&
        strncasecmp(p, "password=", 9) != 0)
      n += (size_t)snprintf(out + n, size - n, "%.*s;", (int)len, p);
    ck_assert_uint_lt(n, size);
    p += len;
    if (*p == ';') p++;
  }
  if (user != NULL) n += (size_t)snprintf(out + n, size - n, "Uid=%s;", user);
  snprintf(out + n, size - n, "Pwd=%s;%s", pw, extra);
}

/* Creates SHORT_USER with password SHORT_PW (the servers' test user may). */
static void make_short_user(uv_loop_t* loop, uvodbc_conn_t* admin) {
  if (test_driver() == TEST_PG) {
    test_exec(loop, admin, "DROP ROLE IF EXISTS " SHORT_USER);
    test_exec(loop, admin,
              "CREATE ROLE " SHORT_USER " LOGIN PASSWORD '" SHORT_PW "'");
  } else if (test_driver() == TEST_MARIADB) {
    test_exec(loop, admin, "DROP USER IF EXISTS '" SHORT_USER "'@'%'");
    test_exec(loop, admin, "DROP USER IF EXISTS '" SHORT_USER "'@'localhost'");
    test_exec(loop, admin,
              "CREATE USER '" SHORT_USER "'@'%' IDENTIFIED BY '" SHORT_PW "'");
    test_exec(loop, admin,
              "CREATE USER '" SHORT_USER "'@'localhost' IDENTIFIED BY '"
              SHORT_PW "'");
    test_exec(loop, admin, "GRANT SELECT ON *.* TO '" SHORT_USER "'@'%'");
    test_exec(loop, admin,
              "GRANT SELECT ON *.* TO '" SHORT_USER "'@'localhost'");
  }
}

static void drop_short_user(uv_loop_t* loop, uvodbc_conn_t* admin) {
  if (test_driver() == TEST_PG) {
    test_exec(loop, admin, "DROP ROLE " SHORT_USER);
  } else if (test_driver() == TEST_MARIADB) {
    test_exec(loop, admin, "DROP USER '" SHORT_USER "'@'%'");
    test_exec(loop, admin, "DROP USER '" SHORT_USER "'@'localhost'");
  }
}

/* Logged in with a one-letter password, a failing statement's message
 * keeps that letter (it used to be starred everywhere). */
START_TEST(redact_short_password_keeps_messages) {
  uv_loop_t loop;
  uvodbc_conn_t* admin;
  uvodbc_conn_t* conn;
  char connstr[1024];
  diags_t d;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  admin = test_connect(&loop);
  make_short_user(&loop, admin);
  /* SQLite has no users: it ignores the password. */
  with_login(test_driver() == TEST_SQLITE ? NULL : SHORT_USER, SHORT_PW, "",
             connstr, sizeof(connstr));
  conn = test_connect_to(&loop, connstr);
  exec_failing(&loop, conn, "SELECT * FROM no_such_table_here", NULL, 0, &d);
  ck_assert_msg(strstr(d.messages, "no_such_table_here") != NULL,
                "message mangled: %s", d.messages);
  test_close(&loop, conn);
  drop_short_user(&loop, admin);
  test_close(&loop, admin);
  test_loop_close(&loop);
}
END_TEST

typedef struct {
  diags_t d;
  int open;
} connect_t;

static void on_connect(uvodbc_req_t* req, int status) {
  connect_t* t = req->data;
  t->open = uvodbc_conn_is_open(req->conn);
  req->data = &t->d;
  on_done(req, status);
  req->data = t;
}

static void on_closed(uvodbc_conn_t* conn) {
  int* closed = uvodbc_conn_get_data(conn);
  (*closed)++;
}

/* Connects with `connstr`, which must fail; closes the handle. */
static void connect_failing(const char* connstr, connect_t* t) {
  uv_loop_t loop;
  uvodbc_req_t req;
  int closed = 0;
  memset(t, 0, sizeof(*t));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  req.data = t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, connstr, NULL, on_connect), 0);
  while (t->d.calls == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t->d.calls, 1);
  ck_assert_int_eq(t->d.status, UVODBC_ESQL);
  ck_assert_int_eq(t->open, 0);
  ck_assert_uint_gt(t->d.ndiag, 0);
  uvodbc_conn_set_data(req.conn, &closed);
  ck_assert_int_eq(uvodbc_conn_close(req.conn, on_closed), 0);
  test_loop_close(&loop);
  ck_assert_int_eq(closed, 1);
}

/* A failing connect with a one-letter password: that letter appears in no
 * diagnostic (the driver's text would otherwise hold it). */
START_TEST(redact_short_password_failed_connect) {
  char connstr[1024];
  connect_t t;
  /* SQLite: a database in a directory that does not exist; the servers: a
   * user that does not exist (no test creates it outside its own test). */
  if (test_driver() == TEST_SQLITE)
    snprintf(connstr, sizeof(connstr),
             "DRIVER={SQLite3};Database=/nonexistent/dir/here.db;"
             "NoCreat=1;Pwd=" SHORT_PW);
  else
    with_login(SHORT_USER, SHORT_PW, "", connstr, sizeof(connstr));
  connect_failing(connstr, &t);
  ck_assert_msg(strstr(t.d.messages, SHORT_PW) == NULL,
                "password in a diagnostic: %s", t.d.messages);
  ck_assert_msg(strchr(t.d.messages, '*') != NULL,
                "nothing redacted (a weak test): %s", t.d.messages);
}
END_TEST

/* The driver manager echoes an unknown driver's name, which here holds
 * ";PWD=" many times and the braced password (decoded: "}}" read as "}"):
 * the message is redacted without overflowing, and the password appears
 * neither as written nor as decoded. */
START_TEST(redact_connect_echo) {
  connect_t t;
  connect_failing("DRIVER={/nonexistent/lib" PWD_RUN "/s3cr}}et;x};UID=nobody;"
                  "PWD={s3cr}}et;x}",
                  &t);
  ck_assert_msg(strstr(t.d.messages, "/nonexistent/lib;PWD=***;PWD=***;") !=
                    NULL,
                "driver name not echoed as expected: %s", t.d.messages);
  ck_assert_ptr_null(strstr(t.d.messages, "s3cr}}et;x"));
  ck_assert_ptr_null(strstr(t.d.messages, "s3cr}et;x"));
}
END_TEST

Suite* redact_suite(void) {
  Suite* s = suite_create("redact");
  TCase* tc = tcase_create("redact");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, redact_server_text_kept);
  tcase_add_test(tc, redact_short_password_keeps_messages);
  tcase_add_test(tc, redact_short_password_failed_connect);
  tcase_add_test(tc, redact_connect_echo);
  suite_add_tcase(s, tc);
  return s;
}
