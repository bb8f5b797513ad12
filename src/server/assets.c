/* assets.c - finding the web page's files by path; see assets.h.
 *
 * A walk of the generated table: a handful of files, asked for when a page loads.
 */
#include "assets.h"

#include <string.h>

const struct asset *assets_find(const char *path)
{
    if (strcmp(path, "/") == 0) {
        path = "/index.html";
    }
    for (unsigned i = 0; i < assets_count; i++) {
        if (strcmp(assets_table[i].path, path) == 0) {
            return &assets_table[i];
        }
    }
    return NULL;
}
