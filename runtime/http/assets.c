/*
 * assets.c - looking up the dashboard's embedded files (assets.h); the
 * bytes themselves are in the build dir's generated http_assets_data.c.
 */
#include "http/assets.h"

#include <string.h>

const http_asset_t *http_asset_find(const char *path)
{
    if (path == NULL)
        return NULL;
    if (strcmp(path, "/") == 0)
        path = "/static/index.html";
    for (size_t i = 0; i < http_assets_count; i++)
        if (strcmp(http_assets[i].path, path) == 0)
            return &http_assets[i];
    return NULL;
}
