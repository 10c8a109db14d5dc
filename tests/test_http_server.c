/*
 * test_http_server.c - the operations endpoint's HTTP server
 * (http/server.c): --http ADDR:PORT parsing, and on a real loop and
 * socket, the orders in which a connection can end while a handler still
 * holds its request (the client leaves, the server closes, both), each
 * of which must free everything exactly once (run it under ASan) and
 * leave the loop with no handle open.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/util.h"
#include "http/server.h"

/* ---- http_parse_listen ------------------------------------------------- */

static void parses(const char *spec, const char *host, int port)
{
    char h[64], err[200] = "";
    int p = -1;
    cr_assert_eq(http_parse_listen(spec, h, sizeof h, &p, err, sizeof err), 0,
                 "'%s': %s", spec, err);
    cr_assert_str_eq(h, host, "'%s'", spec);
    cr_assert_eq(p, port, "'%s'", spec);
}

static void refuses(const char *spec, const char *why)
{
    char h[64], err[200] = "";
    int p = -7;
    cr_assert_eq(http_parse_listen(spec, h, sizeof h, &p, err, sizeof err), -1,
                 "'%s' was accepted", spec);
    cr_assert_eq(p, -7, "'%s': port written on failure", spec);
    cr_assert_not_null(strstr(err, why), "'%s': '%s', want '%s'", spec, err,
                       why);
    cr_assert_not_null(strstr(err, spec), "'%s': the error does not name it",
                       spec);
}

Test(http_parse_listen, good_addresses)
{
    parses(":9180", "127.0.0.1", 9180);
    parses("127.0.0.1:80", "127.0.0.1", 80);
    parses("0.0.0.0:0", "0.0.0.0", 0);
    parses("10.1.2.3:65535", "10.1.2.3", 65535);
    parses("[::1]:80", "::1", 80);
    parses("[::]:9180", "::", 9180);
    parses("[fe80::1:2]:443", "fe80::1:2", 443);
    parses("[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1);
    parses(":00080", "127.0.0.1", 80);
}

Test(http_parse_listen, bad_ports)
{
    refuses("127.0.0.1", "is not ADDR:PORT");
    refuses("", "is not ADDR:PORT");
    refuses("127.0.0.1:", "port must be");
    refuses(":", "port must be");
    refuses("127.0.0.1:65536", "port must be");
    refuses("127.0.0.1:99999999999999999999", "port must be");
    refuses("127.0.0.1:-1", "port must be");
    refuses("127.0.0.1:+80", "port must be");
    refuses("127.0.0.1: 80", "port must be");
    refuses("127.0.0.1:80 ", "port must be");
    refuses("127.0.0.1:8o", "port must be");
    refuses("127.0.0.1:0x50", "port must be");
    refuses("127.0.0.1:000080", "port must be");
    refuses("[::1]", "port must be");
}

Test(http_parse_listen, bad_hosts)
{
    refuses("localhost:80", "not a numeric IPv4 or IPv6 address");
    refuses("example.com:80", "not a numeric");
    refuses("1.2.3:80", "not a numeric");
    refuses("256.1.1.1:80", "not a numeric");
    refuses("127.0.0.1 :80", "not a numeric");
    refuses("[::1:80", "not a numeric");
    refuses("::1]:80", "not a numeric");
    refuses("[fe80::1%eth0]:80", "not a numeric");
    refuses("[]:80", "no address between");
    refuses("::1:80", "an IPv6 address goes in brackets");
    refuses(":::80", "an IPv6 address goes in brackets");
    refuses("[127.0.0.1]:80", "only an IPv6 address goes in brackets");
    char long_spec[200];
    memset(long_spec, '1', 150);
    strcpy(long_spec + 150, ":80");
    refuses(long_spec, "address too long");
}

/* ---- a real server ----------------------------------------------------- */

typedef struct {
    http_request_t *held; /* the handler keeps the request */
    int calls;
    int answer_now;
} handler_state_t;

static void handler(void *arg, http_request_t *req)
{
    handler_state_t *hs = arg;
    hs->calls++;
    if (hs->answer_now)
        http_respond(req, 200, "text/plain", "", "ok\n", 3);
    else
        hs->held = req;
}

static uv_loop_t loop;
static http_server_t *srv;
static handler_state_t hs;

static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    memset(&hs, 0, sizeof hs);
    char err[200];
    http_server_opts_t o = {"127.0.0.1", 0, handler, &hs};
    srv = http_server_start(&loop, &o, err, sizeof err);
    cr_assert_not_null(srv, "%s", err);
    cr_assert_gt(http_server_port(srv), 0);
}

/* Runs the loop until every handle is closed (the server freed): the
 * loop closes cleanly only then. */
static void teardown(void)
{
    int64_t deadline = util_mono_ms() + 5000;
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && util_mono_ms() < deadline)
        usleep(1000);
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
}


static int client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0}; /* a read that would hang fails instead */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *s)
{
    cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Turns the loop until cond holds (5 s at most). */
#define PUMP_UNTIL(cond)                                                   \
    do {                                                                   \
        int64_t until_ = util_mono_ms() + 5000;                            \
        while (!(cond) && util_mono_ms() < until_)                         \
            uv_run(&loop, UV_RUN_NOWAIT);                                  \
        cr_assert(cond, "timed out waiting for " #cond);                   \
    } while (0)

static void pump_ms(int ms)
{
    int64_t until = util_mono_ms() + ms;
    while (util_mono_ms() < until)
        uv_run(&loop, UV_RUN_NOWAIT);
}

#define GET "GET /x?a=1#frag HTTP/1.1\r\nHost: h\r\nOrigin: http://h\r\n\r\n"

Test(http_server, the_request_as_the_handler_sees_it)
{
    setup();
    int fd = client();
    send_all(fd, GET);
    PUMP_UNTIL(hs.held != NULL);
    cr_assert_str_eq(hs.held->method, "GET");
    cr_assert_str_eq(hs.held->path, "/x");
    cr_assert_str_eq(hs.held->query, "a=1");
    cr_assert_str_eq(hs.held->host, "h");
    cr_assert_str_eq(hs.held->origin, "http://h");
    cr_assert_str_eq(hs.held->authorization, "");
    cr_assert_eq(hs.held->peer_loopback, 1);
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_eq(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", buf);
    cr_assert_not_null(strstr(buf, "\r\nContent-Length: 3\r\n"), "%s", buf);
    cr_assert_eq(strcmp(buf + n - 7, "\r\n\r\nok\n"), 0, "%s", buf);
    close(fd);
    http_server_close(srv);
    teardown();
}

Test(http_server, answer_after_the_client_left)
{
    setup();
    int fd = client();
    send_all(fd, GET);
    PUMP_UNTIL(hs.held != NULL);
    close(fd);
    pump_ms(50);
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    pump_ms(50);
    http_server_close(srv);
    teardown();
}

Test(http_server, answer_after_the_server_closed)
{
    setup();
    int fd = client();
    send_all(fd, GET);
    PUMP_UNTIL(hs.held != NULL);
    http_server_close(srv);
    pump_ms(50); /* the listener closes; the held connection waits */
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    close(fd);
    teardown();
}

Test(http_server, the_client_left_and_the_server_closed_before_the_answer)
{
    setup();
    int fd = client();
    send_all(fd, GET GET); /* and a pipelined one behind it */
    PUMP_UNTIL(hs.held != NULL);
    close(fd);
    pump_ms(20);
    http_server_close(srv);
    pump_ms(20);
    http_respond(hs.held, 503, "text/plain", "", "bye\n", 4);
    teardown();
}

Test(http_server, close_while_answers_are_written_and_lingering)
{
    setup();
    hs.answer_now = 1;
    int a = client(), b = client(), c = client();
    send_all(a, GET);
    send_all(b, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    send_all(c, "\x16\x03\x01 not http\r\n\r\n");
    PUMP_UNTIL(hs.calls == 2);
    pump_ms(20); /* b and c linger now, a is kept alive */
    http_server_close(srv);
    close(a);
    close(b);
    close(c);
    teardown();
}

Test(http_server, more_connections_than_the_limit)
{
    setup();
    hs.answer_now = 1;
    int fds[HTTP_MAX_CONNECTIONS + 20];
    for (int i = 0; i < HTTP_MAX_CONNECTIONS + 20; i++) {
        fds[i] = client();
        pump_ms(1);
    }
    pump_ms(100);
    /* the last ones were closed at once: they read EOF */
    char ch;
    int closed = 0;
    for (int i = HTTP_MAX_CONNECTIONS; i < HTTP_MAX_CONNECTIONS + 20; i++)
        closed += read(fds[i], &ch, 1) == 0;
    cr_assert_eq(closed, 20);
    send_all(fds[0], GET);
    PUMP_UNTIL(hs.calls == 1);
    for (int i = 0; i < HTTP_MAX_CONNECTIONS + 20; i++)
        close(fds[i]);
    http_server_close(srv);
    teardown();
}
