/* CPU + memory: sqlite3 (Debian's libsqlite3.a, linked statically) with an in-memory database:
 * insert ROWS rows in one transaction, then query them.
 * Usage: sqlite [ROWS]  (default 200000)
 * Prints "RESULT insert_ms=... query_ms=... total_ms=..." */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static sqlite3 *db;

static void check(int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        printf("error: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        printf("error: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 200000;
    sqlite3_stmt *st;
    check(sqlite3_open(":memory:", &db), "open");
    exec("PRAGMA temp_store=MEMORY");
    exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL)");
    double t0 = now_ms();
    exec("BEGIN");
    check(sqlite3_prepare_v2(db, "INSERT INTO t(id, k, name, v) VALUES(?, ?, ?, ?)", -1, &st, NULL),
          "prepare insert");
    char name[64];
    unsigned x = 12345;
    for (long i = 0; i < rows; i++) {
        x = x * 1103515245u + 12345u;
        snprintf(name, sizeof name, "row-%ld-%u", i, x % 100000);
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_int64(st, 2, (long)(x % 1000));
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 4, (double)(x % 10007) / 7.0);
        check(sqlite3_step(st), "insert");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec("COMMIT");
    exec("CREATE INDEX t_k ON t(k)");
    double t1 = now_ms();
    /* Queries: an aggregate over everything, a GROUP BY, and 10,000 indexed point lookups. */
    long long count = 0;
    double sum = 0;
    check(sqlite3_prepare_v2(db, "SELECT count(*), sum(v) FROM t WHERE name LIKE 'row-%-1%'", -1, &st, NULL),
          "prepare count");
    check(sqlite3_step(st), "count");
    count = sqlite3_column_int64(st, 0);
    sum = sqlite3_column_double(st, 1);
    sqlite3_finalize(st);
    long groups = 0;
    check(sqlite3_prepare_v2(db, "SELECT k, count(*), avg(v) FROM t GROUP BY k ORDER BY 3 DESC", -1, &st,
                             NULL),
          "prepare group");
    while (sqlite3_step(st) == SQLITE_ROW)
        groups++;
    sqlite3_finalize(st);
    long found = 0;
    check(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE k = ?", -1, &st, NULL), "prepare lookup");
    for (int i = 0; i < 10000; i++) {
        sqlite3_bind_int(st, 1, i % 1000);
        check(sqlite3_step(st), "lookup");
        found += sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    double t2 = now_ms();
    sqlite3_close(db);
    printf("RESULT insert_ms=%.1f query_ms=%.1f total_ms=%.1f rows=%ld count=%lld sum=%.1f groups=%ld "
           "found=%ld\n",
           t1 - t0, t2 - t1, t2 - t0, rows, count, sum, groups, found);
    return 0;
}
