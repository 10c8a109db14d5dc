/*
 * ops_access.h - who may read and write on the operations endpoint
 * (observe/ops.h): the token from --http-token-file (Bearer, compared in
 * constant time), the loopback rule for reads (addressed to a loopback
 * name, against DNS rebinding), and what a write must be (same origin,
 * JSON).
 */
#ifndef JOBRT_OPS_ACCESS_H
#define JOBRT_OPS_ACCESS_H

#include <stddef.h>

#include "http/server.h"

#define OPS_TOKEN_MAX 256 /* bytes of --http-token-file's first line */

typedef struct {
    char token[OPS_TOKEN_MAX + 1];
    size_t token_len;  /* 0: no token file, writes are off */
    int loopback_only; /* the endpoint listens on a loopback address */
    int public_read;   /* --http-public-read */
} ops_access_t;

/* Reads the token (the first line, 16 to OPS_TOKEN_MAX printable
 * characters) from path, a regular file. Returns 0, or -1 with one line
 * naming --http-token-file in err. */
int ops_access_read_token(ops_access_t *o, const char *path, char *err,
                          size_t err_len);
/* "Bearer TOKEN" with this endpoint's token. */
int ops_access_token_ok(const ops_access_t *o, const char *authorization);
/* Whether r may read /metrics and the API. */
int ops_access_may_read(const ops_access_t *o, const http_request_t *r);
/* No Origin or Sec-Fetch-Site says another site sent r. */
int ops_access_same_origin(const http_request_t *r);
/* application/json, with parameters or not. */
int ops_access_is_json(const char *content_type);

#endif
