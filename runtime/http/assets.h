/*
 * assets.h - the dashboard's files (runtime/http/assets/: index.html,
 * app.js, style.css), compiled into the binary at build time by
 * cmake/embed_assets.cmake, so `jobrt run --http` serves the page with no
 * file on disk and no build step. Read-only static data; any thread.
 */
#ifndef JOBRT_HTTP_ASSETS_H
#define JOBRT_HTTP_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;         /* "/static/index.html", "/static/app.js" */
    const char *content_type; /* with charset for text */
    const unsigned char *data;
    size_t len;
} http_asset_t;

/* The file served at path (no query string): "/static/<name>", and "/"
 * for /static/index.html; NULL for any other path. */
const http_asset_t *http_asset_find(const char *path);

/* Generated (embed_assets.cmake): every embedded file. */
extern const http_asset_t http_assets[];
extern const size_t http_assets_count;

#endif
